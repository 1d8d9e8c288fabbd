"""Request and response hardening that applies to every route (pages, API, exports)."""

from __future__ import annotations

from django.conf import settings

from portal.errors import json_error


class NulInURLMiddleware:
    """A 400 for a NUL character (``%00``) in a URL's path or query.

    No route has a use for one, and PostgreSQL cannot compare a text column
    with a string that holds one (a DataError, a 500), so it is refused here,
    before any view builds a query from it.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path or any(
            "\x00" in name or any("\x00" in value for value in values)
            for name, values in request.GET.lists()
        ):
            return json_error("NUL characters (%00) are not allowed in a URL", "nul-character", 400)
        return self.get_response(request)


class ContentSecurityPolicyMiddleware:
    """Send ``CONTENT_SECURITY_POLICY`` (trailhub/settings.py) with every response.

    The pages load scripts and styles only from this origin (static/, and
    drf-spectacular-sidecar's Swagger UI), and have no inline script, so an
    injected ``<script>`` would not run even if escaping failed somewhere.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        return response
