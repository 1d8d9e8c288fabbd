"""The project's own pages: home, the dashboard, the probes, the error pages."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from community.views.lists import dashboard_context, home_context
from portal.errors import json_error
from trailhub.health import readiness

# Paths under these prefixes are the API; their errors are JSON.
API_PREFIXES = ("/auth", "/devices", "/trails", "/objects", "/logs", "/exports", "/packs")


def home(request):
    return render(request, "portal/home.html", home_context(request.user))


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
