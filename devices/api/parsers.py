"""A JSON parser that refuses bodies over a size limit before parsing them."""

import io

from django.conf import settings

from portal.errors import APIError
from portal.parsers import JSONParser


class LogBatchParser(JSONParser):
    """JSON, at most DEVICE_LOG_BATCH_MAX_BYTES: a larger log batch is a 413, unparsed."""

    limit_setting = "DEVICE_LOG_BATCH_MAX_BYTES"

    def parse(self, stream, media_type=None, parser_context=None):
        limit = getattr(settings, self.limit_setting)
        raw = stream.read(limit + 1)
        if len(raw) > limit:
            raise APIError(
                f"request body is over the limit of {limit} bytes; send fewer entries at a time",
                "too-large",
                413,
            )
        return super().parse(io.BytesIO(raw), media_type, parser_context)
