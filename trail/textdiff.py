"""Line diffs of a key's content, as `trail diff` prints them and the hub's diff page shows them.

One reading of "is this text?" and one unified diff, so that the command line
and the web page agree line for line. Pure: no I/O.
"""

from __future__ import annotations

import difflib

#: What `trail diff` reads as text at most (the page has its own, smaller, limit).
MAX_TEXT = 1024 * 1024
NO_NEWLINE = "\\ No newline at end of file"


def as_text(data: bytes | None, limit: int = MAX_TEXT) -> str | None:
    """``data`` as text, or None when it does not read as text: missing, over
    ``limit`` bytes, not UTF-8, or with a NUL (binary formats have them, text never)."""
    if data is None or len(data) > limit or b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _lines(text: str) -> list[str]:
    """``text`` cut after each ``\\n`` (only there: a form feed or U+2028 is not a line
    end to a file), the last piece without one when the text does not end with it."""
    pieces = text.split("\n")
    last = pieces.pop()
    return [piece + "\n" for piece in pieces] + ([last] if last else [])


def hunks(before: str, after: str, context: int = 3) -> list[str]:
    """The hunks of the unified diff from ``before`` to ``after``, a line each and
    without its line end: ``@@ … @@`` headers, then lines starting with ``" "``,
    ``"-"`` or ``"+"``. A line that ends its text without a newline is followed by
    :data:`NO_NEWLINE`, as diff(1) writes it. No ``---``/``+++`` header: the caller
    names the sides."""
    out = []
    diff = difflib.unified_diff(_lines(before), _lines(after), n=context)
    for line in list(diff)[2:]:  # past the ---/+++ header
        if line.endswith("\n"):
            out.append(line[:-1])
        else:
            out += [line, NO_NEWLINE]
    return out


def text_diff(before: bytes | None, after: bytes | None, limit: int = MAX_TEXT) -> list[str] | None:
    """:func:`hunks` of two contents (``b""`` for a side that does not exist) when
    both read as text (:func:`as_text`), else None: the caller names them by sha."""
    a, b = as_text(before, limit), as_text(after, limit)
    if a is None or b is None:
        return None
    return hunks(a, b)
