"""Account pages: sign-up, the profile, scoped tokens, signing keys, log out everywhere,
password reset with a limit."""

import datetime as dt

from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from portal import signing_keys, tokens
from portal.errors import DomainError, add_to_form
from portal.forms import ProfileForm, ScopedTokenForm, SigningKeyForm, SignupForm
from portal.limits import RateLimit, wait_text


def signup(request):
    if request.user.is_authenticated:
        return redirect("dashboard")
    form = SignupForm(request.POST or None)
    # One count with POST /auth/accounts (SIGNUP_THROTTLE_RATE), per client address.
    wait = RateLimit.take(request, "signup") if request.method == "POST" else None
    if wait is not None:
        form.add_error(None, f"Too many sign-ups from your address; try again {wait_text(wait)}.")
    elif request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, f"Welcome to Trailhub, {user.username}.")
        return redirect("dashboard")
    return render(request, "registration/signup.html", {"form": form})


@login_required
def profile(request):
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Profile saved.")
        return redirect("profile")
    return render(request, "portal/profile.html", {"form": form})


@require_POST
@login_required
def logout_everywhere(request):
    """End every API token and web session of the account, this browser's too."""
    request.user.log_out_everywhere()
    logout(request)
    messages.success(request, "Logged out everywhere: every session and API token has ended.")
    return redirect("login")


class PasswordResetView(auth_views.PasswordResetView):
    """Django's, with the mails it sends limited per client address (PASSWORD_RESET_THROTTLE_RATE)."""

    def form_valid(self, form):
        wait = RateLimit.take(self.request, "password-reset")
        if wait is not None:
            form.add_error(None, f"Too many password resets asked; try again {wait_text(wait)}.")
            return self.form_invalid(form)
        return super().form_valid(form)


@login_required
def scoped_tokens(request):
    """The person's scoped tokens; a POST makes one and shows it this once."""
    form = ScopedTokenForm(request.POST or None)
    new_token = None
    if request.method == "POST" and form.is_valid():
        try:
            row, raw = tokens.issue(
                request.user,
                form.cleaned_data["name"],
                form.cleaned_data["scopes"],
                dt.timedelta(days=form.cleaned_data["days"]),
            )
        except DomainError as exc:
            add_to_form(form, exc, "name" if exc.code == "name-taken" else None)
        else:
            new_token = {"name": row.name, "raw": raw}
            form = ScopedTokenForm()
    context = {
        "tokens": tokens.tokens_of(request.user),
        "form": form,
        "new_token": new_token,
        "now": timezone.now(),
    }
    return render(request, "portal/tokens.html", context)


@login_required
def revoke_scoped_token(request, api_token: str):
    """Revoke one of the person's tokens, after a confirmation page."""
    row = get_object_or_404(tokens.tokens_of(request.user), pk=api_token)
    if request.method != "POST":
        what = [
            f"Scripts and CI that use {row.prefix}… stop working at once. This cannot be undone."
        ]
        return render(
            request,
            "confirm.html",
            {
                "title": f"Revoke the token “{row.name}”?",
                "what": what,
                "button": "Revoke the token",
                "cancel_url": reverse("tokens"),
            },
        )
    tokens.revoke(request.user, row.id)
    messages.success(request, f"Revoked the token {row.name}.")
    return redirect("tokens")


@login_required
def signing_keys_page(request):
    """The signers the person trusts; a POST adds one (a PEM or another user's keys)."""
    form = SigningKeyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if data["pem"].strip():
                row = signing_keys.add_pem(request.user, data["name"], data["pem"])
            else:
                row = signing_keys.trust_user(request.user, data["name"], data["user"].strip())
        except DomainError as exc:
            field = {"bad-pem": "pem", "private-key": "pem", "unknown-user": "user", "self": "user"}
            add_to_form(form, exc, field.get(exc.code))
        else:
            messages.success(request, f"Trusted {row.name}.")
            return redirect("signing-keys")
    context = {"keys": signing_keys.signing_keys_of(request.user), "form": form}
    return render(request, "portal/signing_keys.html", context)


@login_required
def remove_signing_key(request, key_id: str):
    """Stop trusting one signer, after a confirmation page."""
    row = get_object_or_404(signing_keys.signing_keys_of(request.user), pk=key_id)
    if request.method != "POST":
        what = [
            "Devices that require signatures refuse new revisions signed only by it."
            " Revisions posted already stay."
        ]
        return render(
            request,
            "confirm.html",
            {
                "title": f"Stop trusting “{row.name}”?",
                "what": what,
                "button": "Stop trusting",
                "cancel_url": reverse("signing-keys"),
            },
        )
    signing_keys.remove(request.user, row.id)
    messages.success(request, f"No longer trusted: {row.name}.")
    return redirect("signing-keys")
