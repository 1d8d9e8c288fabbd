"""An upload to ``/local-s3/<token>`` under ASGI: refused before its body is read.

Django's ASGI handler reads a request's whole body (to memory, then a
temporary file) before any view runs, so the view's own checks
(revisions/api/views/storage.py) would come after a refused body had been
spooled. This wrapper makes the same check (:func:`revisions.storage.signing.check`)
on the path and headers alone, answers a refusal at once, and lets Django
read at most one byte more than the signed size of an accepted upload (the
view then refuses the surplus, as it does for a body without Content-Length).
"""

from __future__ import annotations

import json

from revisions.storage.signing import PREFIX, SignatureError, check


def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


async def _refuse(send, exc: SignatureError) -> None:
    body = json.dumps({"error": str(exc), "code": exc.code}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": exc.status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _capped(receive, limit: int):
    """``receive`` that ends the body after ``limit`` bytes; later body messages are dropped."""
    seen = 0
    ended = False

    async def capped_receive():
        nonlocal seen, ended
        if ended:  # Django only listens for the disconnect now
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    return message
        message = await receive()
        if message["type"] == "http.request":
            body = message.get("body", b"")
            seen += len(body)
            if seen > limit:
                body = body[: len(body) - (seen - limit)]
                message = {"type": "http.request", "body": body, "more_body": False}
            if not message.get("more_body", False):
                ended = True
        return message

    return capped_receive


def guard_uploads(app):
    """Wrap the HTTP application ``app`` so that a bad ``PUT /local-s3/…`` is refused unread."""

    async def guarded(scope, receive, send):
        path = scope.get("path", "")
        if scope["type"] != "http" or scope.get("method") != "PUT" or not path.startswith(PREFIX):
            return await app(scope, receive, send)
        try:
            signed = check(path[len(PREFIX) :], "PUT", _header(scope, b"content-length"))
        except SignatureError as exc:
            return await _refuse(send, exc)
        return await app(scope, _capped(receive, (signed.size or 0) + 1), send)

    return guarded
