"""How the pages show a state: a file tree and a readable diff.

The platforms a state runs come from ``trail.apps.platform.platforms_of``.

Pure functions over a state dict (no Django), so they are easy to test. Values
come back as plain strings; the templates escape them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from trail import textdiff
from trail.merge import ABSENT, Conflict
from trail.state import SPEC_KEY, diff_states, is_object_key
from trail.textdiff import text_diff
from trail.tree import json_bytes

#: The largest file the pages show as text (a side of a diff, or the file page).
TEXT_LIMIT = 64 * 1024


def pretty(value: Any) -> str:
    """Inline JSON as people read it: indented, keys sorted.

    Sorted as the state-sha sees them, so the same value reads the same on
    every database (PostgreSQL's jsonb does not keep the posted order).
    """
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)


@dataclass
class TreeRow:
    """One line of the file tree, in document order.

    ``kind`` is ``open`` / ``close`` (a folder starts or ends), ``json`` or
    ``object`` (a file), or ``spec``.
    """

    kind: str
    name: str = ""
    path: str = ""
    depth: int = 0
    value: str = ""  # pretty JSON, or the sha of an object
    extra: dict = field(default_factory=dict)


def tree_rows(state: dict[str, Any]) -> list[TreeRow]:
    """Flatten a state into folder open/close and file rows, folders first at each level."""
    root: dict = {}
    for key in state:
        if key == SPEC_KEY:
            continue
        *folders, name = key.split("/")
        node = root
        for folder in folders:
            node = node.setdefault(("d", folder), {})
        node[("f", name)] = key

    rows = []
    if SPEC_KEY in state:
        rows.append(TreeRow("spec", SPEC_KEY, SPEC_KEY, 0, str(state[SPEC_KEY])))

    def walk(node: dict, prefix: str, depth: int) -> None:
        # Folders first, then files, each sorted by name: how file managers list them.
        for kind, name in sorted(node, key=lambda item: (item[0] != "d", item[1])):
            if kind == "d":
                path = f"{prefix}{name}/"
                rows.append(TreeRow("open", name, path, depth))
                walk(node[(kind, name)], path, depth + 1)
                rows.append(TreeRow("close", name, path, depth))
            else:
                key = node[(kind, name)]
                if is_object_key(key):
                    rows.append(TreeRow("object", name, key, depth, state[key]))
                else:
                    rows.append(TreeRow("json", name, key, depth, pretty(state[key])))

    walk(root, "", 0)
    return rows


@dataclass
class DiffLine:
    sign: str  # "+", "-", " ", "@" (a hunk header) or "\\" (no newline at end of file)
    text: str


@dataclass
class KeyDiff:
    """What changed in one key between two states.

    ``lines`` is a line diff of the key's content: always for a ``.json`` key, and
    for an object when both sides were read as text (:func:`trail.textdiff.text_diff`);
    otherwise it is empty and ``old``/``new`` name the objects by sha.
    """

    op: str  # added, removed, changed
    key: str
    is_object: bool
    old: str | None  # an object's sha on each side (None where it does not exist)
    new: str | None
    lines: list[DiffLine]


def diff(
    old: dict[str, Any], new: dict[str, Any], contents: Mapping[str, bytes] | None = None
) -> list[KeyDiff]:
    """Every key that differs (:func:`trail.state.diff_states`), with a line diff of
    its content as `trail diff` prints it: JSON as a checkout writes it, and objects
    whose bytes ``contents`` (sha to bytes) holds when both sides read as text."""
    contents = contents or {}

    def content(state: dict[str, Any], key: str, is_object: bool) -> bytes | None:
        if key not in state:
            return b""  # the side where the key does not exist
        if not is_object:
            return json_bytes(state[key])
        return contents.get(state[key]) if isinstance(state[key], str) else None

    result = []
    for change in diff_states(old, new):
        key = change.key
        is_object = is_object_key(key)
        limit = TEXT_LIMIT if is_object else textdiff.MAX_TEXT  # JSON is in the state already
        hunks = text_diff(content(old, key, is_object), content(new, key, is_object), limit)
        lines = [_line(text) for text in hunks or []]
        before = _sha(old, key) if is_object else None
        after = _sha(new, key) if is_object else None
        result.append(KeyDiff(change.op, key, is_object, before, after, lines))
    return result


def text_objects(old: dict[str, Any], new: dict[str, Any]) -> tuple[set[str], set[str]]:
    """The shas whose bytes :func:`diff` would show as text, on each side: those of the
    object keys that differ (what the caller reads, if small, into ``contents``)."""
    wanted: tuple[set[str], set[str]] = (set(), set())
    for change in diff_states(old, new):
        if is_object_key(change.key):
            for side, state in zip(wanted, (old, new), strict=True):
                if isinstance(state.get(change.key), str):
                    side.add(state[change.key])
    return wanted


def conflict_rows(conflicts: Iterable[Conflict]) -> list[dict[str, Any]]:
    """The conflicts of a three-way merge as the pages list them: each ``path`` and its
    ``sides`` (base, ours, theirs) as short JSON, None where a side has none."""
    return [
        {
            "path": c.path,
            "sides": [
                _shown(side, file=len(c.parts) == 1 and is_object_key(c.parts[0]))
                for side in (c.base, c.ours, c.theirs)
            ],
        }
        for c in conflicts
    ]


def _shown(value: Any, file: bool = False) -> str | None:
    """A side as short JSON; a file's sha as ``file`` and its first 12 digits."""
    if value is ABSENT:
        return None
    if file and isinstance(value, str):
        return f"file {value[:12]}…"
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 200 else text[:199] + "…"


def as_text(data: bytes | None) -> str | None:
    """A file's bytes as text for the file page, or None (binary, or too big to show)."""
    return textdiff.as_text(data, TEXT_LIMIT)


def _sha(state: dict[str, Any], key: str) -> str | None:
    if key not in state:
        return None
    value = state[key]
    return value if isinstance(value, str) else pretty(value)


def _line(text: str) -> DiffLine:
    if text.startswith("@@"):
        return DiffLine("@", text)
    return DiffLine(text[:1], text[1:])
