"""What the server's console says: the filters LOGGING (trailhub/settings.py) puts on
uvicorn's and Django's loggers.

At the default level (``LOG_LEVEL=INFO``) a request that changed nothing and went
well — a device's poll, a page, a static file — logs nothing, and neither does a
client's mistake (a 4xx: ``pvr post``'s routine 409 for an object the hub already
has, a 404, a refused login); a write that went well logs one line and a server
error its traceback. The filters lower those records to DEBUG rather than drop
them, so ``LOG_LEVEL=DEBUG`` shows every request again.
"""

from __future__ import annotations

import logging

READS = frozenset({"GET", "HEAD", "OPTIONS"})


class _Lower(logging.Filter):
    """Lowers a record to the level ``level_of`` gives; the handler's level
    (``LOG_LEVEL``) then decides whether it is written. A logger's filter, not a
    handler's: a handler compares levels before it filters."""

    def level_of(self, record: logging.LogRecord) -> int:
        raise NotImplementedError

    def filter(self, record: logging.LogRecord) -> bool:
        level = self.level_of(record)
        if level < record.levelno:
            record.levelno, record.levelname = level, logging.getLevelName(level)
        return True


class AccessLog(_Lower):
    """``uvicorn.access``: one line per write and per server error; a read that
    went well and every 4xx at DEBUG. Names the request's parts on the record,
    so a JSON line has them as fields."""

    def level_of(self, record: logging.LogRecord) -> int:
        try:
            client, method, path, _version, status = record.args  # type: ignore[misc]
        except (TypeError, ValueError):  # not uvicorn's access line
            return record.levelno
        record.client, record.method, record.path, record.status_code = (
            client, method, path, status,
        )  # fmt: skip
        if not isinstance(status, int):
            return record.levelno
        if status >= 500:
            return record.levelno
        if status >= 400 or method in READS:
            return logging.DEBUG
        return record.levelno


class ClientErrors(_Lower):
    """``django.request``: Django logs each 4xx as a warning ("Conflict: /objects/");
    a client's mistake is not the operator's, so DEBUG. A 5xx stays an error."""

    def level_of(self, record: logging.LogRecord) -> int:
        if getattr(record, "status_code", 500) < 500:
            return logging.DEBUG
        return record.levelno


class WebSocketChatter(_Lower):
    """``uvicorn.error``: every device socket's handshake, open and close (uvicorn's
    and the websockets library's lines) at DEBUG; the server's own messages stay."""

    def level_of(self, record: logging.LogRecord) -> int:
        message = str(record.msg)
        if message.startswith('%s - "WebSocket ') or message in (
            "connection open",
            "connection closed",
        ):
            return logging.DEBUG
        return record.levelno


class OneLine(_Lower):
    """``django.security.DisallowedHost``: a request for a host not in ALLOWED_HOSTS
    (a scanner, or a name the operator has yet to add) is one warning line naming
    the host, not an error with a traceback of Django's middleware."""

    def level_of(self, record: logging.LogRecord) -> int:
        record.exc_info, record.exc_text = None, None
        return logging.WARNING
