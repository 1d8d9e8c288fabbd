"""A state as a tree of files, and files as state values.

The one place that decides how a state looks on disk, so that a working copy
(``trail clone``) and a revision the agent installs are the same tree:

* a ``.json`` key is a file of pretty-printed JSON (sorted keys, two-space
  indent, a final newline) — any layout reads back to the same value;
* any other key is the object's bytes;
* ``#spec`` is no file: it stays in the state kept beside the tree;
* top-level ``.trail/`` and ``.pvr/`` hold metadata and are never state.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Collection
from pathlib import Path
from typing import Any

from trail.objects import ObjectStore, sha256_file
from trail.state import (
    RESERVED,
    SPEC_KEY,
    StateError,
    is_executed,
    is_object_key,
    load_json,
    validate_state,
)


def json_bytes(value: Any) -> bytes:
    """How a ``.json`` key is written to its file."""
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: only its escape is UTF-8
        return (json.dumps(value, indent=2, sort_keys=True) + "\n").encode("ascii")


def write_atomic(path: Path, data: bytes, mode: int | None = None) -> None:
    """Replace ``path`` with ``data`` in one step: a reader (or the next run after a
    crash) finds the old content or the new, never half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    if mode is not None:
        os.chmod(tmp, mode)
    os.replace(tmp, path)


def file_keys(state: dict[str, Any]) -> list[str]:
    """The keys of a state that are files, sorted."""
    return sorted(key for key in state if key != SPEC_KEY)


def check_layout(state: dict[str, Any]) -> None:
    """Raise :class:`StateError` unless ``state`` is one :func:`validate_state`
    accepts, so that every key can be written as a file inside the tree.

    Run before writing any tree: a state read from a hub, an archive or a
    working copy is never trusted to be what the hub accepted.
    """
    validate_state(state)


def write_tree(
    state: dict[str, Any],
    root: Path,
    store: ObjectStore,
    *,
    link: bool = False,
    previous: dict[str, Any] | None = None,
    placed: Collection[str] = (),
) -> None:
    """Make the files under ``root`` hold ``state``.

    Keys of ``previous`` (the state the tree held before) that ``state`` lacks
    are removed; other files are left alone. Every object must be in ``store``,
    except those of ``placed``: keys whose files :func:`place_object` has just
    written, which are not read again.
    """
    check_layout(state)
    root.mkdir(parents=True, exist_ok=True)
    for key in file_keys(previous or {}):
        if key not in state:
            _remove(root, key)
    for key in file_keys(state):
        dest = root / key
        if dest.is_dir() and not dest.is_symlink():
            raise StateError("bad-key", f"{dest} is a directory in the way", key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        if is_object_key(key):
            if key not in placed and not _holds(dest, state[key]):
                store.copy_to(state[key], dest, link=link)
        else:
            data = json_bytes(state[key])
            if not (dest.is_file() and dest.read_bytes() == data):
                dest.unlink(missing_ok=True)
                dest.write_bytes(data)


def place_object(root: Path, store: ObjectStore, sha: str, keys: list[str]) -> None:
    """Copy object ``sha`` from ``store`` to each of ``keys`` under ``root``, as
    soon as it is stored, so that a clone writes its tree while other objects
    are still on the way (then ``write_tree(..., placed=keys)``)."""
    for key in keys:
        dest = root / key
        dest.parent.mkdir(parents=True, exist_ok=True)
        store.copy_to(sha, dest)


def _holds(dest: Path, sha: str) -> bool:
    return dest.is_file() and not dest.is_symlink() and sha256_file(dest) == sha


def _remove(root: Path, key: str) -> None:
    path = root / key
    if path.is_file() or path.is_symlink():
        path.unlink()
    # Drop the directories the file leaves empty, never climbing out of root.
    parent = path.parent
    while parent != root and parent.is_dir() and not any(parent.iterdir()):
        parent.rmdir()
        parent = parent.parent


def scan(root: Path) -> list[str]:
    """The keys of every file under ``root``, sorted. Skipped: the reserved
    top-level directories, symbolic links to directories, and the folders and
    files no state may hold (:data:`trail.state.EXECUTED`: a working copy kept
    in git has a ``.git`` that is not part of the device)."""
    keys = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel = Path(dirpath).relative_to(root)
        if rel == Path("."):
            dirnames[:] = [d for d in dirnames if d not in RESERVED]
        dirnames[:] = sorted(d for d in dirnames if not is_executed(d))
        for name in filenames:
            if not is_executed(name):
                keys.append((rel / name).as_posix() if rel != Path(".") else name)
    return sorted(keys)


def read_value(root: Path, key: str) -> Any:
    """The state value of file ``key``: its parsed JSON for a ``.json`` key, else
    its sha256. Raises :class:`StateError` for a ``.json`` file that is not JSON."""
    path = root / key
    if is_object_key(key):
        return sha256_file(path)
    return load_json(path.read_bytes(), key)
