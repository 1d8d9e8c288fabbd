"""Account pages: sign-up, the login and its second factor, the profile, two-factor
login, scoped tokens, the apps authorised and registered (OAuth), signing keys, log out
everywhere, password reset with a limit."""

import datetime as dt

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import NON_FIELD_ERRORS
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render, resolve_url
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from portal import audit, oauth, signing_keys, tokens, two_factor
from portal import scopes as sc
from portal.errors import DomainError, add_to_form
from portal.forms import (
    AppRegistrationForm,
    CodeForm,
    LoginForm,
    ProfileForm,
    ScopedTokenForm,
    SigningKeyForm,
    SignupForm,
    TurnOffTwoFactorForm,
)
from portal.limits import LoginLimits, RateLimit, wait_text


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


def second_step(request, form, next_url: str):
    """After a right password of an account with two-factor login (the login form's
    refusal ``two_factor.SECOND_STEP``), the page that asks for the code; else None."""
    if not form.has_error(NON_FIELD_ERRORS, two_factor.SECOND_STEP):
        return None
    two_factor.begin_login(request, form.get_user(), next_url)
    return redirect("login-verify")


class LoginView(auth_views.LoginView):
    """Django's, with the limits of portal/limits.py and a second step for accounts with
    two-factor login; an account without it logs in as before."""

    authentication_form = LoginForm

    def form_invalid(self, form):
        return second_step(self.request, form, self.get_success_url()) or super().form_invalid(form)


def _safe_next(request) -> str:
    url = request.GET.get("next", "")
    if url_has_allowed_host_and_scheme(url, {request.get_host()}, request.is_secure()):
        return url
    return resolve_url(settings.LOGIN_REDIRECT_URL)


@sensitive_post_parameters("code")
@never_cache
def login_verify(request):
    """The second step: a code from the authenticator app, or a recovery code.

    For the login that gave the right password (``two_factor.pending_login``), or
    for a session logged in without one that needs it now (the admin, with
    ``ADMIN_REQUIRE_2FA``). Wrong codes count as failed logins (portal/limits.py).
    """
    pending = two_factor.pending_login(request)
    if pending is not None:
        user, next_url = pending
    elif (
        request.user.is_authenticated
        and not request.user.is_verified()
        and two_factor.is_enabled(request.user)
    ):
        user, next_url = request.user, _safe_next(request)
    else:
        return redirect("login")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        limits = LoginLimits(request, user.username)
        try:
            limits.check()
            device = two_factor.verify(user, form.cleaned_data["code"])
        except DomainError as exc:
            if exc.code == "2fa-wrong-code":
                limits.record_failure()
            add_to_form(form, exc, "code" if exc.code == "2fa-wrong-code" else None)
        else:
            two_factor.finish_login(request, user, device)
            if two_factor.is_recovery(device):
                messages.warning(
                    request,
                    f"You used a recovery code: {two_factor.recovery_codes_left(user)} left. "
                    "Make new ones on your account's two-factor page before they run out.",
                )
            return redirect(next_url)
    return render(request, "registration/login_verify.html", {"form": form})


@login_required
def profile(request):
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Profile saved.")
        return redirect("profile")
    context = {"form": form, "two_factor_on": two_factor.is_enabled(request.user)}
    return render(request, "portal/profile.html", context)


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
def authorised_apps(request):
    """The apps acting for the person (OAuth): what each may do, since when, Revoke."""
    apps = [
        {"auth": auth, "scopes": [(scope, sc.DESCRIPTIONS.get(scope, "")) for scope in auth.scopes]}
        for auth in oauth.authorised_apps(request.user)
    ]
    return render(request, "portal/apps.html", {"apps": apps})


@login_required
def revoke_app(request, client_id: str):
    """End an app's authorisation, after a confirmation page."""
    found = [a for a in oauth.authorised_apps(request.user) if a.application.client_id == client_id]
    if not found:
        raise Http404("no app you authorised has that client id")
    app = found[0].application
    if request.method != "POST":
        what = [
            f"{app.name} can no longer act for you: its tokens end at once.",
            "It can ask again; you decide then.",
        ]
        return render(
            request,
            "confirm.html",
            {
                "title": f"Revoke “{app.name}”?",
                "what": what,
                "button": "Revoke access",
                "cancel_url": reverse("apps"),
            },
        )
    oauth.revoke(request.user, client_id)
    messages.success(request, f"Revoked {app.name}: it can no longer act for you.")
    return redirect("apps")


@login_required
def registered_apps(request):
    """The apps the person registered as a developer; a POST registers one."""
    form = AppRegistrationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            app = oauth.register(
                request.user, form.cleaned_data["name"], form.cleaned_data["redirect_uris"]
            )
        except DomainError as exc:
            add_to_form(form, exc, "name" if exc.code == "bad-name" else "redirect_uris")
        else:
            messages.success(request, f"Registered {app.name}: its client id is {app.client_id}.")
            return redirect("registered-apps")
    context = {"apps": oauth.apps_of(request.user), "form": form}
    return render(request, "portal/registered_apps.html", context)


@login_required
def delete_registered_app(request, client_id: str):
    """Delete one of the person's apps, after a confirmation page."""
    app = get_object_or_404(oauth.apps_of(request.user), client_id=client_id)
    if request.method != "POST":
        what = [
            f"Everyone who authorised {app.name} loses it at once: its tokens end,"
            " and its client id stops working. This cannot be undone."
        ]
        return render(
            request,
            "confirm.html",
            {
                "title": f"Delete the app “{app.name}”?",
                "what": what,
                "button": "Delete the app",
                "cancel_url": reverse("registered-apps"),
            },
        )
    oauth.unregister(request.user, client_id)
    messages.success(request, f"Deleted the app {app.name}.")
    return redirect("registered-apps")


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


@login_required
def two_factor_overview(request):
    """Two-factor login: on or off, the recovery codes left, what can be done."""
    enabled = two_factor.is_enabled(request.user)
    context = {
        "enabled": enabled,
        "codes_left": two_factor.recovery_codes_left(request.user) if enabled else 0,
    }
    return render(request, "portal/two_factor.html", context)


@sensitive_post_parameters("code")
@never_cache
@login_required
def two_factor_setup(request):
    """Add an authenticator app: its secret, then a code from it confirms it; the
    recovery codes are shown once, in the answer to that."""
    try:
        device = two_factor.start_setup(request.user)
    except DomainError as exc:
        messages.info(request, exc.message)
        return redirect("two-factor")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = two_factor.confirm_setup(request, form.cleaned_data["code"])
        except DomainError as exc:
            add_to_form(form, exc, "code")
        else:
            messages.success(request, "Two-factor login is on.")
            return render(request, "portal/recovery_codes.html", {"codes": codes, "new": True})
    context = {"form": form, "enrolment": two_factor.enrolment(device)}
    return render(request, "portal/two_factor_setup.html", context)


@never_cache
@login_required
def two_factor_recovery_codes(request):
    """New recovery codes (the old ones stop working), after a confirmation page."""
    if not two_factor.is_enabled(request.user):
        return redirect("two-factor")
    if request.method != "POST":
        what = [
            "Ten new recovery codes replace the ones you have: those stop working at once.",
            "The new ones are shown once, on the next page.",
        ]
        return render(
            request,
            "confirm.html",
            {
                "title": "Make new recovery codes?",
                "what": what,
                "button": "Make new recovery codes",
                "cancel_url": reverse("two-factor"),
            },
        )
    codes = two_factor.new_recovery_codes(request.user)
    return render(request, "portal/recovery_codes.html", {"codes": codes})


@sensitive_post_parameters("proof")
@login_required
def two_factor_off(request):
    """Turn two-factor login off, given a current code, a recovery code or the password
    (a wrong one counts as a failed login)."""
    if not two_factor.is_enabled(request.user):
        return redirect("two-factor")
    form = TurnOffTwoFactorForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        limits = LoginLimits(request, request.user.username)
        try:
            limits.check()
            if not two_factor.check_proof(request.user, form.cleaned_data["proof"]):
                limits.record_failure()
                raise DomainError("That is neither a current code nor your password.", "2fa-proof")
            two_factor.turn_off(request.user)
        except DomainError as exc:
            add_to_form(form, exc, "proof" if exc.code == "2fa-proof" else None)
        else:
            messages.success(request, "Two-factor login is off: your password alone logs in.")
            return redirect("two-factor")
    return render(request, "portal/two_factor_off.html", {"form": form})


@login_required
def audit_log(request):
    """The person's audit log, newest first, filtered as ``GET /audit`` is, 50 a page."""
    filters = {name: request.GET.get(name, "").strip() for name in ("action", "since", "target")}
    error = ""
    try:
        entries = audit.entries_of(request.user, **filters)
    except DomainError as exc:
        error, entries = exc.message, audit.entries_of(request.user)
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    kept = urlencode({name: value for name, value in filters.items() if value})
    context = {
        "page": page,
        "filters": filters,
        "actions": list(audit.ACTIONS),
        "error": error,
        "kept": kept,
        "retention_days": settings.AUDIT_RETENTION_DAYS,
    }
    return render(request, "portal/audit.html", context, status=400 if error else 200)
