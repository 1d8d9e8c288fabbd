"""The parser of ``POST /logs/``: bounded by DEVICE_LOG_BATCH_MAX_BYTES (portal.parsers.BODY_LIMITS)."""

from portal.parsers import JSONParser


class LogBatchParser(JSONParser):
    """JSON; a batch over DEVICE_LOG_BATCH_MAX_BYTES is a 413, unread (portal.parsers)."""
