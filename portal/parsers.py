"""JSON request bodies for the API: like DRF's, but bounded, and refusing what cannot be stored.

Every body is hostile until parsed, so before ``json`` sees it:

* its size is capped per route (:data:`BODY_LIMITS`): portal.middleware
  checks ``Content-Length`` against the cap before anything is read, and the
  parsers read at most one byte more;
* its nesting depth and number of values are counted on the raw text
  (:func:`check_shape`): a 1 MB body of ``{}`` would otherwise become half a
  million dicts, and ``[`` five thousand deep a RecursionError.

After parsing, a string or member name that no database can store is refused
(:func:`unstorable`): ``\\u0000`` (PostgreSQL stores it in neither ``jsonb``
nor ``text``) and a lone surrogate such as ``\\ud800`` (valid JSON, invalid
Unicode: it cannot be encoded as UTF-8 to be stored or sent back).

A member name that appears twice in one object is refused too: which of the
two values counts is up to the parser, so a body whose meaning depends on it
is a mistake to report, not a choice to make silently.
"""

from __future__ import annotations

import codecs
import json as stdjson
import re
from typing import Any

from django.conf import settings
from rest_framework import exceptions, parsers
from rest_framework.utils import json

from trail.state import MAX_JSON_DEPTH, repeated_name

#: The setting that bounds the request bodies of each route (its pattern, without
#: a trailing slash): what the endpoint needs, so that an anonymous body cannot
#: cost megabytes. Every other route is bounded by API_MAX_BODY_BYTES (states,
#: objects, packs), the signed object uploads (/local-s3/) by OBJECTS_MAX_BYTES
#: (portal.bodies).
BODY_LIMITS = {
    "auth/login": "AUTH_MAX_BODY_BYTES",
    "auth/accounts": "AUTH_MAX_BODY_BYTES",
    "devices": "META_MAX_BODY_BYTES",  # a registration may carry user-meta
    "devices/<str:ref>/user-meta": "META_MAX_BODY_BYTES",
    "devices/<str:ref>/device-meta": "META_MAX_BODY_BYTES",
    "trails/<str:ref>/steps/<str:rev>/meta": "META_MAX_BODY_BYTES",
    "logs": "DEVICE_LOG_BATCH_MAX_BYTES",
}
#: Most values (scalars, arrays, objects, counted on the text) in a body of the default parser.
MAX_JSON_VALUES = 100_000


def body_limit(request: Any) -> int:
    """The most bytes a body sent to ``request``'s route may have (:data:`BODY_LIMITS`)."""
    route = getattr(getattr(request, "resolver_match", None), "route", None) or ""
    return getattr(settings, BODY_LIMITS.get(route.rstrip("/"), "API_MAX_BODY_BYTES"))


class Refused(exceptions.APIException):
    """A refused body, in the API's error shape (portal.errors renders it; this module
    cannot import portal.errors, which DRF imports while loading the parsers)."""

    def __init__(self, message: str, code: str, status_code: int = 400) -> None:
        super().__init__(message, code)
        self.status_code = status_code


def too_large_message(limit: int) -> str:
    return f"request body is over the limit of {limit} bytes"


def read_body(stream, limit: int) -> bytes:
    """At most ``limit`` bytes of ``stream``; a 413 if there are more."""
    raw = stream.read(limit + 1) if stream is not None else b""
    if len(raw) > limit:
        raise Refused(too_large_message(limit), "too-large", 413)
    return raw


class JSONRefused(ValueError):
    """JSON text refused before or after parsing; ``code`` says why."""

    def __init__(self, message: str, code: str, status_code: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.status_code = status_code


# A JSON string, escapes included (the unrolled loop needs no backtracking).
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


def check_shape(text: str, max_depth: int, max_values: int) -> None:
    """Raise :class:`JSONRefused` if ``text`` nests deeper than ``max_depth`` or holds
    more than ``max_values`` values.

    Counted on the text with strings blanked out, before ``json`` builds
    anything: the count is an upper bound (commas and opening brackets), the
    depth exact for valid JSON. Invalid text is left for the parser to name.
    """
    bare = _STRING.sub("", text)
    values = bare.count(",") + bare.count("[") + bare.count("{")
    if values > max_values:
        raise JSONRefused(f"JSON has more than {max_values} values", "too-large", 413)
    depth = 0
    # Bounded by max_values, so this loop is short.
    for char in _NOT_BRACKET.sub("", bare):
        if char in "[{":
            depth += 1
            if depth > max_depth:
                raise JSONRefused(f"JSON is nested deeper than {max_depth} levels", "too-deep")
        else:
            depth -= 1


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _shown(text: str) -> str:
    """``text`` with NUL and lone surrogates escaped, safe to put in a UTF-8 message."""
    return _UNSTORABLE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def unstorable(value: Any) -> tuple[str, str] | None:
    """``(code, message)`` for the first string or member name in ``value`` holding
    a NUL character or a lone surrogate, or None.

    Iterative, so that no nesting can exhaust the stack.
    """
    pending: list[tuple[Any, str]] = [(value, "")]
    while pending:
        item, path = pending.pop()
        if isinstance(item, str):
            texts = [(item, path or "the value")]
            children: list[tuple[Any, str]] = []
        elif isinstance(item, dict):
            texts, children = [], []
            for key, child in item.items():
                where = f"{path}.{key}" if path else str(key)
                texts.append((str(key), where))
                children.append((child, where))
        elif isinstance(item, list):
            texts, children = [], [(child, f"{path}[{i}]") for i, child in enumerate(item)]
        else:
            continue
        for text, where in texts:
            found = _UNSTORABLE.search(text)
            if found is None:
                continue
            if found.group() == "\x00":
                return "nul-character", nul_message(_shown(where))
            return "bad-unicode", (
                f"{_shown(where)}: a lone surrogate (\\u{ord(found.group()):04x}) "
                "is not a Unicode character; send UTF-8 text"
            )
        pending.extend(reversed(children))
    return None


def nul_message(where: str) -> str:
    return f"{where}: NUL characters (\\u0000) cannot be stored; remove them"


def refuse_nul(value: Any) -> Any:
    """``value``, or a 400 naming where it has a NUL character or a lone surrogate."""
    found = unstorable(value)
    if found is not None:
        raise Refused(found[1], found[0])
    return value


class DuplicateMember(ValueError):
    pass


def _without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    name = repeated_name(pairs, result)
    if name is not None:
        raise DuplicateMember(name)
    return result


def loads(
    text: str, *, max_depth: int = MAX_JSON_DEPTH, max_values: int = MAX_JSON_VALUES, strict=True
) -> Any:
    """Parse JSON ``text`` within the limits; :class:`JSONRefused` (a ValueError) if not.

    For every JSON a person or a device sends: API bodies, and the forms and
    query parameters that take JSON.
    """
    check_shape(text, max_depth, max_values)
    try:
        data = stdjson.loads(
            text,
            parse_constant=json.strict_constant if strict else None,
            object_pairs_hook=_without_duplicates,
        )
    except DuplicateMember as duplicate:
        name = _shown(str(duplicate))
        raise JSONRefused(
            f"{name!r} appears twice in one JSON object", "duplicate-member"
        ) from None
    except RecursionError:  # check_shape counted wrong; never a traceback for bad input
        raise JSONRefused("JSON is nested too deeply", "too-deep") from None
    except ValueError as exc:
        raise JSONRefused(f"JSON parse error - {exc}", "parse_error") from None
    found = unstorable(data)
    if found is not None:
        raise JSONRefused(found[1], found[0])
    return data


class JSONParser(parsers.JSONParser):
    """DRF's JSONParser within the view's body limit, :data:`MAX_JSON_DEPTH` and
    ``max_values``."""

    max_values = MAX_JSON_VALUES

    def parse(self, stream, media_type=None, parser_context=None):
        context = parser_context or {}
        raw = read_body(stream, body_limit(context.get("request")))
        encoding = parsers.get_encoding(context)
        try:
            text = codecs.decode(raw, encoding)
        except (LookupError, UnicodeDecodeError) as exc:
            raise exceptions.ParseError(f"JSON parse error - {exc}") from None
        try:
            return loads(text, max_values=self.max_values, strict=self.strict)
        except JSONRefused as exc:
            raise Refused(str(exc), exc.code, exc.status_code) from None
