"""URL helpers for the API's wire rules."""

from django.urls import path


def api_path(route: str, view, name: str | None = None) -> list:
    """Route ``route`` with and without a trailing slash, to the same view.

    Device firmware and pvr post to both forms; a redirect would drop the body.
    """
    route = route.strip("/")
    return [path(route, view, name=name), path(f"{route}/", view)]
