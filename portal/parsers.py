"""JSON request bodies for the API: like DRF's, but a NUL character is refused.

JSON may carry ``\\u0000`` in a string or a member name, but PostgreSQL can
store it in neither ``jsonb`` nor ``text``: such a body would fail at the
database with a 500. It is refused up front instead, with the place it was.
"""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions, parsers


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


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        return refuse_nul(super().parse(stream, media_type, parser_context))
