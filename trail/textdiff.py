"""Line diffs of a key's content, as `trail diff` prints them and the hub's diff page shows them.

One reading of "is this text?" and one unified diff, so that the command line
and the web page agree line for line; and the line-by-line three-way merge
`trail pull` uses for a text file both sides changed (:func:`merge_lines`).
Pure: no I/O.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

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


#: The lines a conflict of :func:`merge_lines` is written between.
OURS_MARK, SPLIT_MARK, THEIRS_MARK = "<<<<<<< ours", "=======", ">>>>>>> theirs"


@dataclass(frozen=True)
class TextMerge:
    """What :func:`merge_lines` gives: the merged text, conflicts marked, and how many."""

    text: str
    conflicts: int


def merge_lines(base: str, ours: str, theirs: str, theirs_label: str = "") -> TextMerge:
    """Merge, line by line, the changes ``ours`` and ``theirs`` each made to ``base``, as
    diff3 and git do: the lines all three hold in common split the texts into chunks;
    a chunk only one side changed takes that side, one both changed the same way takes
    it once, and one both changed differently is a conflict, written as ::

        <<<<<<< ours
        (our lines)
        =======
        (their lines)
        >>>>>>> theirs THEIRS_LABEL
    """
    b, o, t = _lines(base), _lines(ours), _lines(theirs)
    out: list[str] = []
    conflicts = 0
    at_b = at_o = at_t = 0
    for b_start, b_end, o_start, o_end, t_start, t_end in _common_runs(b, o, t):
        mine, yours, was = o[at_o:o_start], t[at_t:t_start], b[at_b:b_start]
        if mine == yours or yours == was:
            out += mine
        elif mine == was:
            out += yours
        else:
            conflicts += 1
            out += [OURS_MARK + "\n", *_ended(mine), SPLIT_MARK + "\n", *_ended(yours)]
            out.append(f"{THEIRS_MARK} {theirs_label}".rstrip() + "\n")
        out += b[b_start:b_end]
        at_b, at_o, at_t = b_end, o_end, t_end
    return TextMerge("".join(out), conflicts)


def _ended(lines: list[str]) -> list[str]:
    """``lines`` with a line end after the last, so that a marker starts a line."""
    if lines and not lines[-1].endswith("\n"):
        return [*lines[:-1], lines[-1] + "\n"]
    return lines


def _common_runs(
    b: list[str], o: list[str], t: list[str]
) -> list[tuple[int, int, int, int, int, int]]:
    """The runs of base lines that both ``o`` and ``t`` keep, as ``(base start, end,
    ours start, end, theirs start, end)``, in order, ending with an empty run at the ends."""
    ours = difflib.SequenceMatcher(None, b, o, autojunk=False).get_matching_blocks()
    theirs = difflib.SequenceMatcher(None, b, t, autojunk=False).get_matching_blocks()
    runs = []
    i = j = 0
    while i < len(ours) and j < len(theirs):
        o_base, o_at, o_size = ours[i]
        t_base, t_at, t_size = theirs[j]
        start, end = max(o_base, t_base), min(o_base + o_size, t_base + t_size)
        if start < end:
            o_start, t_start = o_at + start - o_base, t_at + start - t_base
            runs.append(
                (start, end, o_start, o_start + end - start, t_start, t_start + end - start)
            )
        if o_base + o_size < t_base + t_size:
            i += 1
        else:
            j += 1
    runs.append((len(b), len(b), len(o), len(o), len(t), len(t)))
    return runs
