"""WebSocket authentication: the portal's session cookie, or a bearer token.

Browsers come with their session; devices send ``Authorization: Bearer`` (or
``?token=`` when their client cannot set headers). ``scope["user"]`` is then a
user, a DevicePrincipal, or anonymous.

A ``?token=`` is a bearer credential in a URL, which servers log: the ASGI
server's log lines have it replaced by ``[redacted]`` (:class:`RedactTokens`).
"""

import logging
import re
from urllib.parse import parse_qs

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from rest_framework.exceptions import AuthenticationFailed

from portal.auth import decode_token, principal_for

_TOKEN_IN_QUERY = re.compile(r"([?&]token=)[^&\s\"]*")


class RedactTokens(logging.Filter):
    """Replace the value of ``token=`` in a URL's query with ``[redacted]``."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _TOKEN_IN_QUERY.sub(r"\1[redacted]", arg) if isinstance(arg, str) else arg
                for arg in record.args
            )
        if isinstance(record.msg, str):
            record.msg = _TOKEN_IN_QUERY.sub(r"\1[redacted]", record.msg)
        return True


# uvicorn logs each WebSocket handshake ("uvicorn.error") and HTTP request
# ("uvicorn.access") with its query; it has configured these loggers by the
# time it imports the application, so the filter stays on them.
for _name in ("uvicorn.access", "uvicorn.error"):
    logging.getLogger(_name).addFilter(RedactTokens())


@database_sync_to_async
def _principal(raw: str):
    try:
        return principal_for(decode_token(raw))
    except AuthenticationFailed:
        return None


class _BearerMiddleware(BaseMiddleware):
    async def __call__(self, scope, receive, send):
        headers = dict(scope.get("headers", []))
        raw = ""
        auth = headers.get(b"authorization", b"").decode(errors="replace").split()
        if len(auth) == 2 and auth[0].lower() in ("bearer", "jwt"):
            raw = auth[1]
        else:
            raw = parse_qs(scope.get("query_string", b"").decode()).get("token", [""])[0]
        if raw:
            principal = await _principal(raw)
            if principal is not None:
                scope = dict(scope, user=principal)
        return await super().__call__(scope, receive, send)


def WebSocketAuthMiddleware(inner):
    """Session auth first, then a bearer token may override the user."""
    return AuthMiddlewareStack(_BearerMiddleware(inner))
