"""JSON Canonical Form, the byte form that a revision's ``state-sha`` hashes.

This is gibson042's "JSON Canonical Form"
(https://gibson042.github.io/canonicaljson-spec/), the form the reference
Pantahub server hashes, so a state posted here and there gets the same
``state-sha``:

* UTF-8, no insignificant whitespace;
* object members sorted by the code points of their names;
* strings escape only ``"``, ``\\`` and U+0000..U+001F (``\\b \\t \\n \\f
  \\r`` where a short form exists, else ``\\u00XX`` in uppercase hex) and lone
  surrogates (``\\uDXXX``); everything else, DEL and non-ASCII included, is
  written as itself;
* integral numbers are written as plain integers (``100.0`` -> ``100``,
  ``-0.0`` -> ``0``); other numbers in E notation with the shortest mantissa
  that round-trips (``0.25`` -> ``2.5E-1``, ``1e-7`` -> ``1.0E-7``).

Numbers are taken as Python gives them from :func:`json.loads`: ``int`` is
exact, ``float`` is an IEEE double, and an integral float is written with the
digits of its shortest round-tripping form (``4e40`` ->
``4`` followed by 40 zeroes, not the longer exact binary value).

The known answers live in ``testdata/canonical-json.json``.
"""

from __future__ import annotations

import hashlib
import math
import re
from decimal import Decimal
from typing import Any

__all__ = ["canonical_json", "state_sha"]

# Everything the form escapes; all other characters are written as they are.
# In a Python str, a surrogate code point is always a lone one (json.loads
# joins valid pairs), and UTF-8 cannot carry it, so it is escaped too.
_NEEDS_ESCAPE = re.compile('["\\\\\x00-\x1f\ud800-\udfff]')

_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}
for _code in range(0x20):
    _ESCAPES.setdefault(chr(_code), f"\\u{_code:04X}")
del _code

# Floats below this magnitude hold every integer exactly, so int() is exact.
_EXACT_INT_LIMIT = 2.0**53


def canonical_json(value: Any) -> bytes:
    """Return the canonical JSON text of ``value`` as UTF-8 bytes.

    ``value`` is made of ``dict`` (with ``str`` keys), ``list``/``tuple``,
    ``str``, ``int``, ``float``, ``bool`` and ``None``. Anything else raises
    :class:`TypeError`; NaN and infinities raise :class:`ValueError`.
    """
    return _encode(value).encode("utf-8")


def state_sha(state: dict[str, Any]) -> str:
    """Return the ``state-sha`` of a state: the sha256 hex of its canonical JSON."""
    return hashlib.sha256(canonical_json(state)).hexdigest()


def _encode(value: Any) -> str:
    # Ordered by how often each type occurs in a state; bool before int,
    # since bool is an int.
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, dict):
        members = []
        for key in sorted(value):
            if not isinstance(key, str):
                raise TypeError(f"object keys must be str, not {type(key).__name__}")
            members.append(f"{_string(key)}:{_encode(value[key])}")
        return "{" + ",".join(members) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join([_encode(item) for item in value]) + "]"
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        # int.__repr__, not str(): an IntEnum's str() is its name.
        return int.__repr__(value)
    if isinstance(value, float):
        return _float(value)
    raise TypeError(f"{type(value).__name__} is not a JSON value")


def _string(text: str) -> str:
    if _NEEDS_ESCAPE.search(text) is None:
        return f'"{text}"'
    return '"' + _NEEDS_ESCAPE.sub(_escape, text) + '"'


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return _ESCAPES.get(char) or f"\\u{ord(char):04X}"


def _float(value: float) -> str:
    if not math.isfinite(value):
        raise ValueError(f"{value!r} is not a JSON number")
    if value.is_integer():
        if abs(value) < _EXACT_INT_LIMIT:
            return int.__repr__(int(value))  # also turns -0.0 into 0
        return int.__repr__(int(Decimal(float.__repr__(value))))
    # repr() gives the shortest digits that round-trip; Decimal hands them
    # over without leading zeroes, as an integer coefficient and an exponent.
    sign, digits, exponent = Decimal(float.__repr__(value)).as_tuple()
    assert isinstance(exponent, int)  # finite, so never 'n' / 'N' / 'F'
    text = "".join(map(str, digits)).rstrip("0")
    # The exponent of the first digit: the coefficient's last digit sits at
    # 10**exponent and the first one len(digits) - 1 places above it.
    scientific = exponent + len(digits) - 1
    return f"{'-' if sign else ''}{text[0]}.{text[1:] or '0'}E{scientific}"
