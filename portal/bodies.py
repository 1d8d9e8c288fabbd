"""How large a request body may be before the view is chosen, for ASGI and WSGI alike.

Django's ASGI handler reads a whole body (to memory, then a temporary file)
before any view runs, and DRF reads a body without ``Content-Length`` as empty.
So the limits are enforced in two places, each as early as it can be:

* :func:`limit_bodies` wraps the ASGI application: a ``Content-Length`` over
  the path's limit (:func:`path_limit`) is a 413 before Django reads a byte,
  and a chunked body that grows past it is cut and answered with a 413;
* :class:`BodyLimitMiddleware`, once the route is known, refuses a
  ``Content-Length`` over the route's own limit (portal.parsers.BODY_LIMITS)
  — under WSGI nothing was read yet — and reads a chunked body (up to that
  limit) so that the view sees it, instead of an empty one.
"""

from __future__ import annotations

import io
import json

from django.conf import settings
from django.core.handlers.wsgi import WSGIRequest

from portal.errors import json_error
from portal.parsers import body_limit, too_large_message
from trail.wire import LOCAL_S3

UPLOAD_PREFIX = LOCAL_S3 + "/"


def path_limit(path: str) -> int:
    """The largest body any route under ``path`` accepts: an object upload's, or an API body's."""
    if path.startswith(UPLOAD_PREFIX):
        return settings.OBJECTS_MAX_BYTES
    return settings.API_MAX_BODY_BYTES


def _content_length(headers) -> int | None:
    for name, value in headers:
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses such a request before the app sees it
    return None


async def _too_large(send, limit: int) -> None:
    body = json.dumps({"error": too_large_message(limit), "code": "too-large"}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def limit_bodies(app):
    """Wrap the HTTP application ``app`` so that no body over :func:`path_limit` reaches it."""

    async def limited(scope, receive, send):
        limit = path_limit(scope.get("path", ""))
        length = _content_length(scope.get("headers", []))
        if length is not None:
            if length > limit:
                return await _too_large(send, limit)
            return await app(scope, receive, send)  # the server delivers no more than that

        seen = 0
        over = False

        async def counted_receive():
            nonlocal seen, over
            if over:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    # Django drops what it spooled and answers nothing; the 413 is sent below.
                    over = True
                    return {"type": "http.disconnect"}
            return message

        await app(scope, counted_receive, send)
        if over:
            await _too_large(send, limit)

    return limited


class BodyLimitMiddleware:
    """Per route: a 413 for a ``Content-Length`` over its limit; a chunked body read, not lost."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.path.startswith(UPLOAD_PREFIX):
            return None  # the upload view streams its body and checks its signed size
        limit = body_limit(request)
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > limit:
            return json_error(too_large_message(limit), "too-large", 413)
        if length or "chunked" not in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
            return None
        # Chunked: Django and DRF take a body without Content-Length for an empty one.
        if isinstance(request, WSGIRequest):
            if not request.environ.get("wsgi.input_terminated"):
                return json_error("send the body with a Content-Length", "length-required", 411)
            stream = request.environ["wsgi.input"]  # the server ends it with the body
        else:
            stream = request._stream  # ASGI: the body Django has spooled
        body = stream.read(limit + 1)
        if len(body) > limit:
            return json_error(too_large_message(limit), "too-large", 413)
        request._stream = io.BytesIO(body)
        request.META["CONTENT_LENGTH"] = str(len(body))
        return None
