"""How the pages show a state: a file tree and a readable diff.

The platforms a state runs come from ``trail.apps.platform.platforms_of``.

Pure functions over a state dict (no Django), so they are easy to test. Values
come back as plain strings; the templates escape them.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from typing import Any

from trail.state import SPEC_KEY, diff_states, is_object_key


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
    sign: str  # "+", "-", " " or "@" (a hunk header)
    text: str


@dataclass
class KeyDiff:
    """What changed in one key between two states."""

    op: str  # added, removed, changed
    key: str
    is_object: bool
    old: str | None
    new: str | None
    lines: list[DiffLine]


def diff(old: dict[str, Any], new: dict[str, Any], context: int = 3) -> list[KeyDiff]:
    """Every key that differs (:func:`trail.state.diff_states`), with a line diff for JSON."""
    result = []
    for change in diff_states(old, new):
        key = change.key
        is_object = is_object_key(key)
        before = _show(old[key], is_object) if key in old else None
        after = _show(new[key], is_object) if key in new else None
        lines: list[DiffLine] = []
        if not is_object:
            lines = _line_diff(before or "", after or "", context)
        result.append(KeyDiff(change.op, key, is_object, before, after, lines))
    return result


def _show(value: Any, is_object: bool) -> str:
    return value if is_object and isinstance(value, str) else pretty(value)


def _line_diff(before: str, after: str, context: int) -> list[DiffLine]:
    a = before.splitlines() if before else []
    b = after.splitlines() if after else []
    lines = []
    for text in list(difflib.unified_diff(a, b, lineterm="", n=context))[2:]:
        sign = "@" if text.startswith("@@") else text[:1]
        lines.append(DiffLine(sign, text if sign == "@" else text[1:]))
    return lines
