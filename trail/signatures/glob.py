"""The globs of a pvs signature's ``include`` and ``exclude`` lists.

pvr matches state keys against them with bmatcuk/doublestar v1 (``Match``,
``/`` as the separator), so a key counts as covered here exactly when pvr and
Pantavisor count it. The rules, as that version applies them:

* ``*`` is any run of characters inside one path segment, ``?`` one character
  of a segment;
* ``**`` standing alone as a segment is any number of whole segments: zero or
  more when more pattern follows (``**/src.json`` matches ``src.json``), one
  or more at the end (``bsp/**`` matches ``bsp/run.json``, not ``bsp``);
  anywhere else it is two ``*``;
* ``[abc]``, ``[a-z]``, ``[^abc]`` are one character of a segment; ``{a,b}``
  is either alternative; ``\\`` makes the next character literal;
* the whole key must match.

A ``/`` inside ``{…}`` is refused: doublestar splits such a pattern at the
slash first, with results nobody writes on purpose.
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["GlobError", "compile_glob", "glob_match"]


class GlobError(ValueError):
    """A pattern doublestar would refuse (``ErrBadPattern``) or that we do not follow."""


def glob_match(pattern: str, key: str) -> bool:
    """Whether state ``key`` matches ``pattern``, as doublestar v1 ``Match`` says."""
    return compile_glob(pattern).fullmatch(key) is not None


@lru_cache(maxsize=256)
def compile_glob(pattern: str) -> re.Pattern[str]:
    """The regular expression of ``pattern``; raise :class:`GlobError` when malformed."""
    out: list[str] = []
    depth = 0
    i = 0
    n = len(pattern)
    while i < n:
        char = pattern[i]
        at_segment_start = i == 0 or (pattern[i - 1] == "/" and not _escaped(pattern, i - 1))
        if (
            char == "*"
            and depth == 0
            and at_segment_start
            and pattern.startswith("**", i)
            and (i + 2 == n or pattern[i + 2] == "/")
        ):
            if i + 2 == n:
                out.append(".*")
                i += 2
            else:
                out.append("(?:.*/)?")
                i += 3
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "\\":
            if i + 1 == n:
                raise GlobError(f"pattern {pattern!r} ends with a lone backslash")
            i += 1
            out.append(re.escape(pattern[i]))
        elif char == "[":
            end, regex = _char_class(pattern, i + 1)
            out.append(regex)
            i = end
        elif char == "{":
            depth += 1
            out.append("(?:")
        elif char == "," and depth:
            out.append("|")
        elif char == "}" and depth:
            depth -= 1
            out.append(")")
        elif char == "/" and depth:
            raise GlobError(f"pattern {pattern!r} has a / inside {{…}}")
        else:
            out.append(re.escape(char))
        i += 1
    if depth:
        raise GlobError(f"pattern {pattern!r} has an unclosed {{")
    try:
        return re.compile("".join(out), re.DOTALL)
    except re.error as exc:  # a range backwards, [z-a]
        raise GlobError(f"pattern {pattern!r}: {exc}") from None


def _escaped(pattern: str, index: int) -> bool:
    # doublestar looks only at the one character before (indexRuneWithEscaping).
    return index > 0 and pattern[index - 1] == "\\"


def _char_class(pattern: str, start: int) -> tuple[int, str]:
    """Parse ``[…]`` whose body starts at ``start``; return the index of ``]`` and the regex."""
    end = start
    while True:
        end = pattern.find("]", end)
        if end == -1:
            raise GlobError(f"pattern {pattern!r} has an unclosed [")
        if pattern[end - 1] != "\\" or end == start:
            break
        end += 1
    body = pattern[start:end]
    if not body:
        raise GlobError(f"pattern {pattern!r} has an empty []")
    negate = body[0] == "^"
    chars = list(body[1:] if negate else body)
    ranges: list[str] = []
    k = 0
    while k < len(chars):
        if chars[k] == "-":
            raise GlobError(f"pattern {pattern!r} has a range without a start")
        low, k = _class_char(pattern, chars, k)
        high = low
        if k < len(chars) and chars[k] == "-":
            if k + 1 == len(chars) or chars[k + 1] == "-":
                raise GlobError(f"pattern {pattern!r} has a range without an end")
            high, k = _class_char(pattern, chars, k + 1)
        ranges.append(f"{re.escape(low)}-{re.escape(high)}" if high != low else re.escape(low))
    # A class matches one character of a segment: never the separator.
    if negate:
        return end, f"[^/{''.join(ranges)}]"
    return end, f"(?!/)[{''.join(ranges)}]"


def _class_char(pattern: str, chars: list[str], k: int) -> tuple[str, int]:
    """The character of a class at ``k`` (``\\c`` is ``c``) and the index after it."""
    if chars[k] != "\\":
        return chars[k], k + 1
    if k + 1 == len(chars):
        raise GlobError(f"pattern {pattern!r} has a lone backslash in []")
    return chars[k + 1], k + 2
