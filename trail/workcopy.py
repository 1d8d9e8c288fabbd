"""A working copy: a device's state as files, with ``.trail/`` beside them.

``.trail/`` holds

* ``json`` — HEAD, the committed state (what ``trail post`` sends);
* ``remote.json`` — the state of the hub's revision HEAD was based on;
* ``config.json`` — hub, trail id, nicks, ``rev`` (that revision),
  ``latest`` (the newest revision seen on the trail), the pending commit
  message;
* ``index.json`` — new files marked with ``trail add`` for the next commit;
* ``stat.json`` — size and mtime of each object file with its sha, so that
  ``status`` hashes only the files that changed.

As with ``pvr``: files of HEAD that changed or disappeared are committed as
they are; new files only once ``trail add`` names them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trail.objects import ObjectStore
from trail.state import (
    Change,
    StateError,
    diff_states,
    is_object_key,
    load_state,
    state_sha,
    validate_state,
)
from trail.tree import (
    check_layout,
    file_keys,
    json_bytes,
    read_value,
    scan,
    write_atomic,
    write_tree,
)

META = ".trail"


class WorkCopyError(Exception):
    """Something about the working copy that the user has to sort out."""


@dataclass
class Status:
    """What ``trail status`` shows: changes against HEAD, and files nobody added."""

    changes: list[Change] = field(default_factory=list)
    untracked: list[str] = field(default_factory=list)
    #: key -> why its ``.json`` file cannot be read.
    broken: dict[str, str] = field(default_factory=dict)

    @property
    def clean(self) -> bool:
        return not self.changes and not self.broken


class WorkCopy:
    """The working copy rooted at ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self.meta = self.root / META

    # --- finding and creating ----------------------------------------------

    @classmethod
    def find(cls, start: Path | None = None) -> WorkCopy:
        """The working copy that holds ``start`` (the current directory by default)."""
        here = Path(start or Path.cwd()).resolve()
        for candidate in (here, *here.parents):
            if (candidate / META / "config.json").is_file():
                return cls(candidate)
        raise WorkCopyError(
            f"{here} is not in a trail working copy (no {META}/ here or above); "
            "run `trail clone` first"
        )

    @classmethod
    def create(
        cls,
        root: Path,
        config: dict[str, Any],
        state: dict[str, Any],
        store: ObjectStore,
        tip: dict[str, Any] | None = None,
        placed: Collection[str] = (),
    ) -> WorkCopy:
        """Write a new working copy of ``state`` (the hub's revision ``config['rev']``);
        ``tip`` is the state of the trail's newest revision when that is another one.

        ``placed`` are the keys whose object files are already in ``root``
        (:func:`trail.tree.place_object`, while the clone downloaded); ``root``
        must hold nothing else.
        """
        root = Path(root)
        if not placed and root.exists() and (not root.is_dir() or any(root.iterdir())):
            raise WorkCopyError(f"{root} already exists and is not an empty directory")
        wc = cls(root)
        write_tree(state, wc.root, store, placed=placed)
        wc.meta.mkdir(parents=True, exist_ok=True)
        wc.save_config(config)
        wc.set_head(state, tip=tip if tip is not None else state)
        wc.refresh_stat_cache()
        return wc

    # --- metadata ------------------------------------------------------------

    def _read(self, name: str, default: Any = None) -> Any:
        path = self.meta / name
        if not path.exists():
            return default
        return json.loads(path.read_text(encoding="utf-8"))

    def _write(self, name: str, value: Any) -> None:
        write_atomic(self.meta / name, json_bytes(value))

    @property
    def config(self) -> dict[str, Any]:
        return self._read("config.json", {})

    def save_config(self, config: dict[str, Any]) -> None:
        self._write("config.json", config)

    def update_config(self, **changes: Any) -> dict[str, Any]:
        config = self.config
        config.update(changes)
        self.save_config(config)
        return config

    @property
    def head(self) -> dict[str, Any]:
        return load_state((self.meta / "json").read_bytes())

    @property
    def remote(self) -> dict[str, Any]:
        """The state of the trail's newest revision, as last seen on the hub."""
        return load_state((self.meta / "remote.json").read_bytes())

    def set_head(self, state: dict[str, Any], tip: dict[str, Any] | None = None) -> None:
        """Make ``state`` HEAD; ``tip`` is the newest revision's state when it is known."""
        self._write("json", state)
        if tip is not None:
            self._write("remote.json", tip)

    @property
    def added(self) -> list[str]:
        return self._read("index.json", [])

    def unposted(self) -> bool:
        """Whether HEAD differs from the trail's newest revision: something to post."""
        return state_sha(self.head) != state_sha(self.remote)

    # --- reading the tree ------------------------------------------------------

    def _stat_cache(self) -> dict[str, list]:
        return self._read("stat.json", {})

    def refresh_stat_cache(self, keys: list[str] | None = None) -> None:
        """Remember size, mtime and sha of the object files of HEAD (after a
        checkout or commit, when they are known to match)."""
        head = self.head
        cache = {}
        for key in keys if keys is not None else file_keys(head):
            if is_object_key(key) and key in head:
                st = (self.root / key).stat()
                cache[key] = [st.st_size, st.st_mtime_ns, head[key]]
        self._write("stat.json", cache)

    def _value(self, key: str, cache: dict[str, list]) -> Any:
        path = self.root / key
        if is_object_key(key):
            st = path.stat()
            cached = cache.get(key)
            if cached and cached[0] == st.st_size and cached[1] == st.st_mtime_ns:
                return cached[2]
            sha = read_value(self.root, key)
            cache[key] = [st.st_size, st.st_mtime_ns, sha]
            return sha
        return read_value(self.root, key)

    def _is_file(self, key: str) -> bool:
        path = self.root / key
        return path.is_file()

    def scan_state(self) -> tuple[dict[str, Any], Status]:
        """The state the files hold now (HEAD's keys plus added files), and the
        status against HEAD."""
        head = self.head
        added = set(self.added)
        cache = self._stat_cache()
        status = Status()
        head_files = set(file_keys(head))
        current: dict[str, Any] = {k: v for k, v in head.items() if k not in head_files}
        on_disk = scan(self.root)
        for key in sorted(head_files | (added & set(on_disk))):
            if not self._is_file(key):
                continue
            try:
                current[key] = self._value(key, cache)
            except StateError as exc:
                status.broken[key] = exc.detail
                current[key] = head.get(key)
        tracked = head_files | added
        status.untracked = [key for key in on_disk if key not in tracked]
        status.changes = diff_states(head, current)
        self._write("stat.json", cache)
        return current, status

    def status(self) -> Status:
        return self.scan_state()[1]

    # --- changing it -------------------------------------------------------------

    def add(self, paths: list[Path]) -> list[str]:
        """Mark new files (directories: every file under them) for the next commit;
        return the keys added."""
        on_disk = set(scan(self.root))
        head = self.head
        keys = []
        for path in paths:
            absolute = Path(os.path.abspath(path))
            if absolute == self.root:
                keys += sorted(on_disk)
                continue
            try:
                rel = absolute.relative_to(self.root).as_posix()
            except ValueError:
                raise WorkCopyError(f"{path} is outside the working copy {self.root}") from None
            if rel.split("/")[0] == META:
                raise WorkCopyError(f"{path} is inside {META}/, which is trail's own")
            if absolute.is_dir():
                keys += sorted(k for k in on_disk if k.startswith(rel + "/"))
            elif absolute.is_file():
                keys.append(rel)
            else:
                raise WorkCopyError(f"{path} does not exist")
        new = sorted(set(self.added) | {k for k in keys if k not in head})
        self._write("index.json", new)
        return [k for k in keys if k not in head]

    def commit(self, message: str, store: ObjectStore) -> list[Change]:
        """Make HEAD the state the files hold; store its new objects; return the changes."""
        state, status = self.scan_state()
        if status.broken:
            key, why = next(iter(status.broken.items()))
            raise WorkCopyError(f"cannot commit: {key}: {why}")
        if not status.changes:
            raise WorkCopyError("nothing to commit (use `trail add` for new files)")
        try:
            validate_state(state)
            check_layout(state)
        except StateError as exc:
            raise WorkCopyError(f"cannot commit: {exc}") from None
        for change in status.changes:
            if change.op != "removed" and is_object_key(change.key):
                store.add_file(self.root / change.key, state[change.key])
        self.set_head(state)
        self._write("index.json", [])
        config = self.config
        messages = [m for m in (config.get("message"), message) if m]
        self.update_config(message="\n".join(messages))
        self.refresh_stat_cache()
        return status.changes

    def checkout(
        self, state: dict[str, Any], store: ObjectStore, tip: dict[str, Any] | None = None
    ) -> None:
        """Write ``state`` over the tree and make it HEAD (files nobody tracks stay)."""
        write_tree(state, self.root, store, previous=self.head)
        self.set_head(state, tip=tip)
        self._write("index.json", [])
        self.refresh_stat_cache()

    def reset(self) -> None:
        """Forget ``trail add`` (``checkout(self.head, …)`` puts the files back too)."""
        self._write("index.json", [])
