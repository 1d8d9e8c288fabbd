"""Account pages: sign-up, the profile, log out everywhere, password reset with a limit."""

from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from portal.forms import ProfileForm, SignupForm
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
