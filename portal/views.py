"""Portal pages that belong to no app: home, sign-up, the account page, error pages."""

from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from community.views.lists import dashboard_context, home_context
from portal.errors import json_error
from portal.forms import ProfileForm, SignupForm
from portal.health import readiness
from portal.limits import RateLimit, wait_text

# Paths under these prefixes are the API; their errors are JSON.
API_PREFIXES = ("/auth", "/devices", "/trails", "/objects", "/logs", "/exports", "/packs")


def home(request):
    return render(request, "portal/home.html", home_context(request.user))


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
def dashboard(request):
    return render(request, "portal/dashboard.html", dashboard_context(request))


@never_cache
@require_safe
def healthz(request):
    """Liveness: the process answers. Nothing else is checked (see readyz)."""
    return HttpResponse("ok\n", content_type="text/plain")


@never_cache
@require_safe
def readyz(request):
    """Readiness: 200 when every dependency answers, 503 naming those that do not."""
    results = readiness()
    checks = {result.name: result.as_json() for result in results}
    failing = [result.name for result in results if not result.ok]
    if not failing:
        return JsonResponse({"ready": True, "checks": checks})
    problems = "; ".join(f"{result.name}: {result.detail}" for result in results if not result.ok)
    body = {
        "ready": False,
        "error": f"not ready: {problems}",
        "code": "not-ready",
        "checks": checks,
    }
    response = JsonResponse(body, status=503)
    # A probe polls every few seconds: Django's error line for every 503 would bury the log.
    response._has_been_logged = True
    return response


def _is_api(request) -> bool:
    return request.path.startswith(API_PREFIXES)


def not_found(request, exception=None):
    if _is_api(request):
        return json_error(f"no such resource: {request.path}", "not-found", 404)
    return render(request, "404.html", status=404)


def server_error(request):
    if _is_api(request):
        return json_error("internal error; it has been logged", "server-error", 500)
    return render(request, "500.html", status=500)
