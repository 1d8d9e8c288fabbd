"""A strict JSON parser for trails and steps: the rules of ``trail.state.load_state``.

Duplicate member names (parsers disagree on which wins, so the state-sha
would depend on the parser), NaN and infinities are refused. The body is
bounded as portal.parsers bounds every body: its route's limit (a 413
before any of it is parsed), :data:`trail.state.MAX_JSON_DEPTH` and
:attr:`StrictJSONParser.max_values`; NUL characters and lone surrogates are
refused as portal.parsers refuses them everywhere.
"""

from rest_framework.parsers import JSONParser

from portal.errors import DomainError
from portal.parsers import JSONRefused, body_limit, check_shape, read_body, refuse_nul
from trail.state import MAX_JSON_DEPTH, MAX_KEYS, StateError, load_state


class StrictJSONParser(JSONParser):
    #: A state has at most MAX_KEYS keys; its .json values are small documents.
    max_values = 100 * MAX_KEYS

    def parse(self, stream, media_type=None, parser_context=None):
        raw = read_body(stream, body_limit((parser_context or {}).get("request")))
        try:
            text = raw.decode("utf-8")
            check_shape(text, MAX_JSON_DEPTH, self.max_values)
            data = load_state(text)
        except UnicodeDecodeError as exc:
            raise DomainError(f"state is not UTF-8: {exc}", code="bad-json") from None
        except JSONRefused as exc:
            raise DomainError(str(exc), exc.code, exc.status_code) from None
        except StateError as exc:
            raise DomainError(str(exc), code=exc.code) from None
        return refuse_nul(data)
