"""A strict JSON parser for trails and steps: the rules of ``trail.state.load_state``.

Duplicate member names (parsers disagree on which wins, so the state-sha
would depend on the parser), NaN and infinities are refused, and a body over
``API_MAX_BODY_BYTES`` is a 413 before any of it is parsed. NUL characters are
refused as ``portal.parsers`` refuses them everywhere.
"""

from django.conf import settings
from rest_framework.parsers import JSONParser

from portal.errors import APIError
from portal.parsers import refuse_nul
from trail.state import StateError, load_state


class StrictJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.API_MAX_BODY_BYTES
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise APIError(f"request body is over the limit of {limit} bytes", "too-large", 413)
        try:
            data = load_state(raw)
        except StateError as exc:
            raise APIError(str(exc), code=exc.code) from None
        return refuse_nul(data)
