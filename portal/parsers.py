"""JSON request bodies for the API: like DRF's, but NUL characters and repeated names are refused.

JSON may carry ``\\u0000`` in a string or a member name, but PostgreSQL can
store it in neither ``jsonb`` nor ``text``: such a body would fail at the
database with a 500. It is refused up front instead, with the place it was.

A member name that appears twice in one object is refused too: which of the
two values counts is up to the parser, so a body whose meaning depends on it
is a mistake to report, not a choice to make silently.
"""

from __future__ import annotations

import codecs
from typing import Any

from rest_framework import exceptions, parsers
from rest_framework.utils import json

from trail.state import repeated_name


def nul_path(value: Any, path: str = "") -> str | None:
    """Where the first NUL character in ``value`` (keys or strings) is, or None."""
    if isinstance(value, str):
        return (path or "the value") if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if "\x00" in key:
                return where.replace("\x00", "\\u0000")
            found = nul_path(item, where)
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = nul_path(item, f"{path}[{index}]")
            if found:
                return found
    return None


def nul_message(where: str) -> str:
    return f"{where}: NUL characters (\\u0000) cannot be stored; remove them"


def refuse_nul(value: Any) -> Any:
    """``value``, or a 400 naming where it has a NUL character.

    (A ParseError, not portal.errors.APIError: DRF imports this module while
    portal.errors is being imported.)
    """
    where = nul_path(value)
    if where is not None:
        raise exceptions.ParseError(nul_message(where), code="nul-character")
    return value


class DuplicateMember(ValueError):
    pass


def _without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    name = repeated_name(pairs, result)
    if name is not None:
        raise DuplicateMember(name)
    return result


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        encoding = parsers.get_encoding(parser_context or {})
        constant = json.strict_constant if self.strict else None
        try:
            data = json.load(
                codecs.getreader(encoding)(stream),
                parse_constant=constant,
                object_pairs_hook=_without_duplicates,
            )
        except DuplicateMember as duplicate:
            raise exceptions.ParseError(
                f"{str(duplicate)!r} appears twice in one JSON object", code="duplicate-member"
            ) from None
        except ValueError as exc:
            raise exceptions.ParseError(f"JSON parse error - {exc}") from None
        return refuse_nul(data)
