"""The ``state.json`` format: parsing, validation, the objects a state needs, diffs.

A state is a flat JSON object. ``"#spec"`` names the format; every other key
is a relative path in the device's tree. A key ending in ``.json`` holds inline
JSON, any other key holds the sha256 of an object (a file stored elsewhere).
The server and the clients both validate with :func:`validate_state` and hash
with :func:`state_sha`, so they agree byte for byte.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Iterable
from typing import Any, Literal, NamedTuple

from trail.canonical import canonical_json, state_sha

__all__ = [
    "MAX_DOCUMENT_BYTES",
    "MAX_JSON_DEPTH",
    "MAX_KEYS",
    "MAX_KEY_LENGTH",
    "MAX_STATE_BYTES",
    "EXECUTED",
    "RESERVED",
    "SPECS",
    "SPEC_KEY",
    "Change",
    "StateError",
    "canonical_json",
    "diff_states",
    "is_object_key",
    "load_json",
    "load_state",
    "object_shas",
    "required_shas",
    "state_sha",
    "validate_state",
]

SPECS = (
    "pantavisor-service-system@1",
    "pantavisor-multi-platform@1",
    "pantavisor-service-embed@1",
)
SPEC_KEY = "#spec"

MAX_KEYS = 10_000
#: In UTF-8 bytes, as a filesystem counts them.
MAX_KEY_LENGTH = 1024
#: Of the canonical JSON, so that indentation does not count.
MAX_STATE_BYTES = 16 * 1024 * 1024
#: Of the text :func:`load_state` reads; leaves room for pretty-printing.
MAX_DOCUMENT_BYTES = 2 * MAX_STATE_BYTES
#: Nesting of arrays and objects, counting the state itself as 1.
MAX_JSON_DEPTH = 64

_SHA256 = re.compile(r"[0-9a-f]{64}")
# C0 controls and DEL are legal in Linux file names, but they only ever come
# from mistakes or attacks, and they make logs and terminals lie. A lone
# surrogate (valid JSON, invalid Unicode) cannot become a UTF-8 file name.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")
# Bidirectional controls reorder what a terminal or a page shows, so that a
# path reads as another (the "Trojan Source" trick).
# In a .json value, where any other text is fine, it cannot be written as UTF-8 either.
_SURROGATE = re.compile("[\ud800-\udfff]")
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
#: Top-level folders a working copy keeps its own metadata in; never state.
RESERVED = frozenset({".trail", ".pvr"})
#: Folders and files that tools run code from when they find them in a tree: a
#: git-aware shell prompt runs ``git status``, which obeys ``.git/config``
#: (``core.fsmonitor``); direnv runs ``.envrc``; editors run ``.vscode`` and
#: ``.idea`` tasks. A revision is data, so no key may have one as a segment.
EXECUTED = frozenset(
    {".git", ".gitmodules", ".hg", ".hgrc", ".svn", ".bzr", "_darcs", ".envrc", ".direnv",
     ".vscode", ".idea"}
)  # fmt: skip


class StateError(ValueError):
    """A state that cannot be accepted.

    ``code`` is a short machine string (``bad-json``, ``not-object``,
    ``bad-spec``, ``bad-key``, ``bad-sha``, ``bad-value``, ``too-large``,
    ``too-deep``) and ``key`` the offending state key, or ``None`` when the
    problem is not one key's. The message names the key first:
    ``key "../etc/passwd": path must be relative without ".." segments``.
    """

    def __init__(self, code: str, detail: str, key: str | None = None) -> None:
        self.code = code
        self.key = key
        self.detail = detail
        if key is not None:
            # JSON quoting shows a NUL or a newline in a key instead of hiding it.
            detail = f"key {json.dumps(key, ensure_ascii=False)}: {detail}"
        super().__init__(detail)


def load_state(data: bytes | str) -> dict[str, Any]:
    """Parse a state document, refusing what JSON parsers disagree on.

    Rejects (with code ``bad-json``) text that is not UTF-8 JSON, duplicate
    member names at any depth (parsers differ on which one wins, so the sha
    would depend on the parser), NaN and infinities (not JSON, and
    ``1e999`` would silently become one); ``not-object`` when the top level
    is not an object; ``too-large`` / ``too-deep`` past the limits. The result
    is not validated: call :func:`validate_state` next.
    """
    state = load_json(data)
    if not isinstance(state, dict):
        raise StateError("not-object", f"state must be a JSON object, not {_json_type(state)}")
    return state


def load_json(data: bytes | str, key: str | None = None) -> Any:
    """Parse one JSON document of any type by the rules of :func:`load_state`.

    For the ``.json`` files of a working tree: ``key`` names the file in the
    :class:`StateError` raised.
    """
    # Without a key the document is a whole state, and the message says so.
    what = "state is " if key is None else ""
    if len(data) > MAX_DOCUMENT_BYTES:
        raise StateError("too-large", f"{what}larger than {MAX_DOCUMENT_BYTES} bytes", key)
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise StateError("bad-json", f"{what}not UTF-8: {exc}", key) from None
    try:
        return json.loads(
            data,
            object_pairs_hook=_object_without_duplicates,
            parse_constant=_reject_constant,
            parse_float=_finite_float,
        )
    except StateError:
        raise
    except RecursionError:
        raise StateError("too-deep", f"{what}nested too deeply", key) from None
    except ValueError as exc:  # JSONDecodeError, and int() past its digit limit
        raise StateError("bad-json", f"{what}not valid JSON: {exc}", key) from None


def validate_state(state: Any) -> None:
    """Raise :class:`StateError` unless ``state`` is an acceptable state.

    The rules, checked in this order (keys in sorted order, so the first error
    reported is always the same one):

    * the state is a ``dict`` with at most :data:`MAX_KEYS` keys;
    * ``"#spec"`` is present and one of :data:`SPECS`;
    * every other key is a safe relative path (see :func:`_check_path`), and
      all keys together can be files of one tree (see :func:`_check_layout`);
    * a key ending in ``.json`` holds any JSON value (``pvr`` and the
      reference server treat it as opaque JSON; the real states hold objects),
      nested at most :data:`MAX_JSON_DEPTH` deep;
    * any other key holds a lowercase 64-hex sha256 string;
    * the canonical JSON is at most :data:`MAX_STATE_BYTES`.
    """
    if not isinstance(state, dict):
        raise StateError("not-object", f"state must be a JSON object, not {_json_type(state)}")
    if len(state) > MAX_KEYS:
        raise StateError("too-large", f"state has {len(state)} keys, more than {MAX_KEYS}")
    if SPEC_KEY not in state:
        raise StateError(
            "bad-spec", f'state has no "{SPEC_KEY}" key; expected one of {", ".join(SPECS)}'
        )
    spec = state[SPEC_KEY]
    if spec not in SPECS:
        raise StateError(
            "bad-spec", f"unknown spec {_show(spec)}; expected one of {', '.join(SPECS)}", SPEC_KEY
        )

    for key in state:
        if not isinstance(key, str):
            raise StateError("bad-key", f"keys must be strings, not {_show(key)}")
    _check_layout(state)
    for key in sorted(state):
        if key == SPEC_KEY:
            continue
        _check_path(key)
        value = state[key]
        if key.endswith(".json"):
            _check_json_value(key, value)
        elif not (isinstance(value, str) and _SHA256.fullmatch(value)):
            raise StateError(
                "bad-sha", f"value must be a lowercase 64-hex sha256, not {_show(value)}", key
            )

    size = len(canonical_json(state))
    if size > MAX_STATE_BYTES:
        raise StateError(
            "too-large", f"state is {size} bytes of canonical JSON, more than {MAX_STATE_BYTES}"
        )


def is_object_key(key: str) -> bool:
    """Whether ``key`` names an object (its value is a sha256), as opposed to
    ``#spec`` or inline JSON."""
    return key != SPEC_KEY and not key.endswith(".json")


def object_shas(state: dict[str, Any]) -> dict[str, list[str]]:
    """Map each object sha a (validated) state needs to the sorted keys that use it.

    A server checks the shas against what the owner has and names the keys of
    a missing one; a client downloads each sha once and writes it to every key.
    """
    shas: dict[str, list[str]] = {}
    for key in sorted(state):
        if is_object_key(key):
            shas.setdefault(state[key], []).append(key)
    return shas


def required_shas(state: dict[str, Any]) -> set[str]:
    """The set of object shas a (validated) state needs."""
    return {value for key, value in state.items() if is_object_key(key)}


DiffOp = Literal["added", "removed", "changed"]


class Change(NamedTuple):
    """One line of :func:`diff_states`: what happened to which key."""

    op: DiffOp
    key: str


def diff_states(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """List the keys added, removed or changed from ``old`` to ``new``, sorted by key.

    Values are compared as the state-sha sees them: ``1`` and ``1.0`` are the
    same, ``1`` and ``true`` are not (Python's ``==`` says they are).
    """
    changes = []
    for key in sorted(old.keys() | new.keys()):
        if key not in new:
            changes.append(Change("removed", key))
        elif key not in old:
            changes.append(Change("added", key))
        elif not _same(old[key], new[key]):
            changes.append(Change("changed", key))
    return changes


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, str) or isinstance(b, str):
        return bool(a == b)  # the common case: two shas
    return canonical_json(a) == canonical_json(b)


def _check_path(key: str) -> None:
    """Raise unless ``key`` is a path a device or a client may safely write to.

    * not empty, at most :data:`MAX_KEY_LENGTH` UTF-8 bytes;
    * relative: no leading ``/``;
    * no ``..`` segment (it would climb out of the revision's directory) and
      no ``.`` segment (two spellings of one path would be two keys);
    * no empty segment (``a//b``, a trailing ``/``): same reason as ``.``;
    * no backslash: a Windows checkout would read it as a separator, so
      ``a\\..\\..\\x`` would climb out;
    * no control characters (U+0000..U+001F, U+007F), NUL included, and no
      lone surrogates.

    Spaces and any other Unicode are legal.
    """
    if not key:
        raise StateError("bad-key", "path must not be empty", key)
    if _UNPRINTABLE.search(key):
        raise StateError(
            "bad-key",
            "path must not contain control characters (NUL included) or lone surrogates",
            key,
        )
    if len(key.encode("utf-8")) > MAX_KEY_LENGTH:
        raise StateError("bad-key", f"path is longer than {MAX_KEY_LENGTH} bytes", key)
    if "\\" in key:
        raise StateError("bad-key", "path must not contain a backslash", key)
    if key.startswith("/"):
        raise StateError("bad-key", 'path must be relative, not start with "/"', key)
    segments = key.split("/")
    if ".." in segments:
        raise StateError("bad-key", 'path must be relative without ".." segments', key)
    if "." in segments:
        raise StateError("bad-key", 'path must not contain "." segments', key)
    if "" in segments:
        raise StateError(
            "bad-key", 'path must not contain empty segments ("//" or a trailing "/")', key
        )
    if _BIDI.search(key):
        raise StateError("bad-key", "path must not contain bidirectional control characters", key)
    for segment in segments:
        # Case-insensitive filesystems, and Windows' trailing dots and spaces,
        # make ".GIT" and ".git." the same folder as ".git".
        if is_executed(segment):
            raise StateError(
                "bad-key", f'"{segment}" is a folder or file that tools run code from', key
            )


def is_executed(name: str) -> bool:
    """Whether a file or folder ``name`` is one that tools run code from (:data:`EXECUTED`)."""
    return name.casefold().rstrip(". ") in EXECUTED


def _check_layout(state: dict[str, Any]) -> None:
    """Raise unless all the keys of ``state`` can be files of one tree.

    * none under a reserved top-level folder (:data:`RESERVED`);
    * none lies inside another key's file (``a`` and ``a/b``);
    * no two keys are the same file name once Unicode-normalised (NFC): on
      macOS, and to anyone reading them, ``é`` and ``e`` + U+0301 are one name.

    Keys are compared in NFC, so twins are caught in folder names too.
    """
    normal: dict[str, str] = {}
    for key in sorted(state):
        if key == SPEC_KEY or not isinstance(key, str) or not key:
            continue
        nfc = unicodedata.normalize("NFC", key)
        if nfc in normal:
            raise StateError(
                "bad-key", f'is the same file name as "{normal[nfc]}" (Unicode twins)', key
            )
        normal[nfc] = key
    for nfc, key in sorted(normal.items()):
        parts = nfc.split("/")
        if parts[0] in RESERVED:
            raise StateError("bad-key", f"{parts[0]}/ is reserved for metadata", key)
        for depth in range(1, len(parts)):
            prefix = "/".join(parts[:depth])
            if prefix in normal:
                raise StateError("bad-key", f'lies inside "{normal[prefix]}", which is a file', key)


def _check_json_value(key: str, value: Any) -> None:
    """Raise unless ``value`` is plain JSON at most :data:`MAX_JSON_DEPTH` deep,
    without lone surrogates (``"\\ud800"`` parses, but is no UTF-8 text to store).

    Iterative, so that a hostile nesting cannot exhaust the Python stack.
    """
    # The state object is depth 1, so the value itself sits at depth 2.
    pending: list[tuple[Any, int]] = [(value, 2)]
    while pending:
        item, depth = pending.pop()
        children: Iterable[Any]
        if isinstance(item, dict):
            children = item.values()
            for name in item:
                if not isinstance(name, str):
                    raise StateError(
                        "bad-value", f"object member names must be strings, not {_show(name)}", key
                    )
                if _SURROGATE.search(name):
                    raise StateError("bad-value", "a member name has a lone surrogate", key)
        elif isinstance(item, (list, tuple)):
            children = item
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise StateError("bad-value", f"{item!r} is not a JSON number", key)
            continue
        elif isinstance(item, str):
            if _SURROGATE.search(item):
                raise StateError("bad-value", "a string has a lone surrogate", key)
            continue
        elif item is None or isinstance(item, int):  # bool is an int
            continue
        else:
            raise StateError("bad-value", f"{type(item).__name__} is not a JSON value", key)
        if depth > MAX_JSON_DEPTH:
            raise StateError("too-deep", f"JSON is nested deeper than {MAX_JSON_DEPTH} levels", key)
        pending.extend((child, depth + 1) for child in children)


def repeated_name(pairs: list[tuple[str, Any]], result: dict[str, Any]) -> str | None:
    """The first member name that appears twice in a JSON object's ``pairs`` (``result``
    is ``dict(pairs)``), or None. Used as the parsers' ``object_pairs_hook``."""
    if len(result) == len(pairs):
        return None
    seen: set[str] = set()
    for name, _ in pairs:
        if name in seen:
            return name
        seen.add(name)
    return None


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    name = repeated_name(pairs, result)
    if name is not None:
        raise StateError("bad-json", "appears twice in one JSON object", name)
    return result


def _reject_constant(name: str) -> float:
    raise StateError("bad-json", f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise StateError("bad-json", f"{text} is too large for a JSON number")
    return value


def _show(value: Any) -> str:
    """A short, unambiguous rendering of a value for an error message."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _json_type(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return f"a {type(value).__name__}"
