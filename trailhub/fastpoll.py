"""The idle device's poll, answered in front of Django when nothing changed.

A device polls ``GET /trails/<id>/steps`` every few seconds and nearly always
gets the answer it got before, which the poll view finds in the per-process
memo or the cache (revisions/api/poll.py :func:`~revisions.api.poll.from_cache`).
Reaching that view through Django's handler and its fifteen middleware costs
several times what the lookup does. :class:`FastPoll` wraps the WSGI
application and answers that one case itself, with the same functions the
view calls (the token checked by ``portal.auth.decode_token`` through
``poll.kept_answer``, presence noted and the poll counted by ``poll.served``),
and hands every other request to Django untouched.

It answers only what it can prove is the view's answer:

* a ``GET`` of ``/trails/<ref>/steps`` (or ``…/steps/``) with no query string
  or Pantavisor's (``poll.device_query``: only ``progress.status`` naming the
  pending statuses), no body, no cookie, a ``Host`` that ``ALLOWED_HOSTS`` accepts, and no HTTPS
  redirect due;
* whose answer ``kept_answer`` finds (a valid device token naming this very
  trail, the answer stored under the trail's current version), and
* whose headers it has learned: the status line and headers Django's
  middleware put on a cached poll answer of the same kind (200 or 304, HTTPS or
  not, with or without the trailing slash), taken from the last such answer
  Django gave in this process, with only ``ETag`` and ``Content-Length``
  replaced. Until Django has answered one of a kind, the fast path does not
  answer that kind; whatever the middleware add or change, the fast answer
  carries it too.

Every answer is counted in ``trailhub_http_requests_total`` under the route
label Django's metrics middleware would give it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.core.handlers.wsgi import WSGIRequest
from django.urls import Resolver404, resolve

from portal.metrics import HTTP_REQUESTS
from revisions.api import poll
from trailhub.metrics.middleware import route_of

POLL_PATH = re.compile(r"/trails/([^/]+)/steps(/?)")

# (status, HTTPS, trailing slash) -> (status line, headers, route label)
Learned = dict[tuple[int, bool, bool], tuple[str, list[tuple[str, str]], str]]


def poll_ref(environ: dict) -> re.Match | None:
    """The path match of a request the fast path may answer, or None."""
    if environ.get("REQUEST_METHOD") != "GET":
        return None
    if not poll.device_query(environ.get("QUERY_STRING", "")):
        return None
    if environ.get("CONTENT_LENGTH", "0") not in ("", "0"):
        return None
    if "HTTP_TRANSFER_ENCODING" in environ or "HTTP_COOKIE" in environ:
        return None
    return POLL_PATH.fullmatch(environ.get("PATH_INFO", ""))


class FastPoll:
    """The WSGI ``app``, with an unchanged device poll answered before it."""

    def __init__(self, app: Callable) -> None:
        self.app = app
        self.learned: Learned = {}

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        match = poll_ref(environ)
        if match is None:
            return self.app(environ, start_response)
        request = WSGIRequest(environ)
        try:
            request.get_host()  # what CommonMiddleware checks: a 400 from Django otherwise
        except DisallowedHost:
            return self.app(environ, start_response)
        secure = request.is_secure()
        if settings.SECURE_SSL_REDIRECT and not secure:
            return self.app(environ, start_response)
        slash = bool(match.group(2))
        answered = self._answer(request, match.group(1), secure, slash, start_response)
        if answered is not None:
            return answered
        return self.app(environ, self._learning(environ, (secure, slash), start_response))

    def _answer(
        self, request, ref: str, secure: bool, slash: bool, start_response: Callable
    ) -> list[bytes] | None:
        found = poll.kept_answer(request, ref)
        if found is None:
            return None
        device_id, source, etag, body = found
        status = 304 if request.META.get("HTTP_IF_NONE_MATCH") == etag else 200
        learned = self.learned.get((status, secure, slash))
        if learned is None:
            return None
        line, template, route = learned
        content = body if status == 200 else b""
        headers = [
            (
                name,
                etag
                if lower == "etag"
                else str(len(content))
                if lower == "content-length"
                else value,
            )
            for name, value in template
            for lower in (name.lower(),)
        ]
        poll.served(device_id, source)
        HTTP_REQUESTS.labels(route, "GET", str(status)).inc()
        start_response(line, headers)
        return [content]

    def _learning(self, environ: dict, kind: tuple[bool, bool], start_response: Callable):
        """``start_response``, keeping the headers of a cached poll answer Django gave."""

        def start(status: str, headers: list[tuple[str, str]], exc_info=None):
            code = int(status.split(" ", 1)[0])
            if (
                environ.get(poll.FROM_CACHE)
                and exc_info is None
                and code in (200, 304)
                and not any(name.lower() == "set-cookie" for name, _ in headers)
            ):
                try:
                    route = route_of(_Resolved(resolve(environ["PATH_INFO"])))
                except Resolver404:
                    route = None
                if route is not None:
                    self.learned[(code, *kind)] = (status, list(headers), route)
            if exc_info is None:
                return start_response(status, headers)
            return start_response(status, headers, exc_info)

        return start


class _Resolved:
    """What :func:`route_of` reads of a request."""

    def __init__(self, match) -> None:
        self.resolver_match = match
