"""Counting every HTTP response by its URL pattern's name, never by its path."""

from __future__ import annotations

import functools

from django.urls import URLPattern, URLResolver, get_resolver

from portal.metrics import HTTP_REQUESTS

#: The route label of a request that matched no URL pattern (a 404, or refused
#: by a middleware before the URL was resolved).
UNMATCHED = "unmatched"
#: Any other method counts as "other": a client may send any word as a method.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


@functools.cache
def _names_by_view() -> dict:
    """Each view of a named URL pattern -> its name (with namespace), so that a
    pattern without a name (``api_path``'s trailing-slash twin) counts under its
    twin's name."""
    names: dict = {}

    def walk(patterns, namespace: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                walk(pattern.url_patterns, inner)
            elif isinstance(pattern, URLPattern) and pattern.name:
                names.setdefault(pattern.callback, namespace + pattern.name)

    walk(get_resolver().url_patterns, "")
    return names


def route_of(request) -> str:
    """The name of the URL pattern that answered ``request``: a bounded set of labels.

    An unnamed pattern counts as its view's named pattern, or failing that as
    its route (``trails/<str:ref>/steps``): a pattern either way, never an id.
    """
    match = getattr(request, "resolver_match", None)
    if match is None:
        return UNMATCHED
    if match.url_name:
        return match.view_name
    return _names_by_view().get(match.func) or match.route or UNMATCHED


class RequestMetricsMiddleware:
    """Counts each response (first in MIDDLEWARE, so that the other middleware's
    refusals count too)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        method = request.method if request.method in METHODS else "other"
        HTTP_REQUESTS.labels(route_of(request), method, str(response.status_code)).inc()
        return response
