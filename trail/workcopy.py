"""A working copy: a device's state as files, with ``.trail/`` beside them.

``.trail/`` holds

* ``json`` — HEAD, the committed state (what ``trail post`` sends);
* ``remote.json`` — the state of the hub's revision HEAD was based on;
* ``config.json`` — hub, trail id, nicks, ``rev`` (that revision),
  ``latest`` (the newest revision seen on the trail), the pending commit
  message, and ``upstream-merge`` while a ``trail pull --upstream`` waits to
  be posted;
* ``index.json`` — new files marked with ``trail add`` for the next commit;
* ``conflicts.json`` — what ``trail pull`` could not merge, until ``trail resolve``;
* ``pull.json`` — HEAD, ``remote.json`` and config as they were before a pull
  that left conflicts, for ``trail pull --abort``;
* ``stat.json`` — size and mtime of each object file with its sha, so that
  ``status`` hashes only the files that changed.

As with ``pvr``: files of HEAD that changed or disappeared are committed as
they are; new files only once ``trail add`` names them.

``trail pull`` merges the newest revision into HEAD (:meth:`WorkCopy.plan_pull`,
then :meth:`WorkCopy.apply_pull`): base is ``remote.json`` (what HEAD's
changes are changes from, what ``trail post`` compares with), ours is HEAD,
theirs the newest revision. Changes not committed stay as they are, unless
the merge would write over them: then it refuses, as git does. A key both
sides changed is a conflict (:mod:`trail.merge`); HEAD holds ours there, and

* a text file both sides hold merges line by line (:func:`trail.textdiff.merge_lines`):
  no conflict at all when the changes are on different lines, else written with
  conflict markers (``<<<<<<< ours`` … ``=======`` … ``>>>>>>> theirs (rev N)``)
  around the lines both changed;
* any other file keeps ours, with theirs beside it as ``KEY.theirs``;
* a ``.json`` file keeps ours; each member in conflict is recorded with its
  RFC 6901 path and the three values, which ``trail status`` shows.

Until ``trail resolve KEY`` drops its record, ``commit`` and ``post`` refuse;
``trail pull --abort`` (:meth:`WorkCopy.abort_pull`) undoes the pull instead.
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trail.merge import Conflict, merge_states
from trail.objects import ObjectStore
from trail.state import (
    SPEC_KEY,
    Change,
    StateError,
    diff_states,
    is_object_key,
    load_state,
    state_sha,
    validate_state,
)
from trail.textdiff import MAX_TEXT, OURS_MARK, THEIRS_MARK, TextMerge, as_text, merge_lines
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
#: What a file's version from the hub is called beside it when it is not text.
THEIRS_SUFFIX = ".theirs"
#: The config's record of a merge of the upstream device that ``trail post`` sends.
UPSTREAM_MERGE = "upstream-merge"


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


@dataclass
class PullPlan:
    """What :meth:`WorkCopy.plan_pull` decided: the merged state and how to write it."""

    theirs: dict[str, Any]
    merged: dict[str, Any]
    conflicts: tuple[Conflict, ...]
    #: HEAD's keys that the merge changes, adds or removes (their files are rewritten).
    changes: list[Change]

    @property
    def files_in_conflict(self) -> list[str]:
        """The object keys (not ``.json``) in conflict that the hub's revision holds."""
        return [
            c.parts[0]
            for c in self.conflicts
            if is_object_key(c.parts[0]) and isinstance(c.theirs, str)
        ]

    @property
    def base_needed(self) -> dict[str, Any]:
        """The base's objects of the files in conflict (a text file merges line by line)."""
        return {
            c.parts[0]: c.base
            for c in self.conflicts
            if c.parts[0] in self.files_in_conflict and isinstance(c.base, str)
        }

    @property
    def needed(self) -> dict[str, Any]:
        """The object keys whose objects the working copy needs for :meth:`WorkCopy.apply_pull`."""
        needed = {c.key: self.merged[c.key] for c in self.changes if c.op != "removed"}
        needed.update({key: self.theirs[key] for key in self.files_in_conflict})
        return {key: sha for key, sha in needed.items() if is_object_key(key)}


@dataclass
class Pulled:
    """What :meth:`WorkCopy.apply_pull` wrote for the conflicts."""

    #: Text keys both sides changed that merged line by line, without a conflict.
    merged: list[str] = field(default_factory=list)
    #: Text keys written with conflict markers.
    marked: list[str] = field(default_factory=list)
    #: Keys kept as ours, with the hub's version written beside them as KEY.theirs.
    beside: list[str] = field(default_factory=list)


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

    @property
    def conflicts(self) -> list[dict[str, Any]]:
        """What the last ``trail pull`` could not merge: ``{"key", "path", "base", "ours",
        "theirs"}`` (a side left out where it is absent), and for a file ``"kind"``:
        ``"text"`` (conflict markers) or ``"beside"`` (theirs in ``"beside"``)."""
        found = self._read("conflicts.json", [])
        return found if isinstance(found, list) else []

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

    def _key_of(self, path: Path) -> str:
        """The key of a file named by the user (relative to the current directory)."""
        absolute = Path(os.path.abspath(path))
        try:
            rel = absolute.relative_to(self.root).as_posix()
        except ValueError:
            raise WorkCopyError(f"{path} is outside the working copy {self.root}") from None
        if rel.split("/")[0] == META:
            raise WorkCopyError(f"{path} is inside {META}/, which is trail's own")
        return rel

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

    def refuse_conflicts(self, verb: str) -> None:
        """Raise unless every conflict of the last pull is resolved."""
        keys = sorted({str(record.get("key")) for record in self.conflicts})
        if keys:
            raise WorkCopyError(
                f"cannot {verb}: the pull left conflicts in {', '.join(keys)}; make each file "
                "what it should hold, then `trail resolve PATH` (`trail status` lists them)"
            )

    def commit(self, message: str, store: ObjectStore) -> list[Change]:
        """Make HEAD the state the files hold; store its new objects; return the changes."""
        self.refuse_conflicts("commit")
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

    # --- pulling -------------------------------------------------------------------

    def plan_pull(self, theirs: dict[str, Any], base: dict[str, Any] | None = None) -> PullPlan:
        """Merge ``theirs`` (the newest revision's state, validated) into HEAD, from
        ``base`` (default ``remote.json``; for ``pull --upstream``, the upstream revision
        the fork last took in), without writing anything; refuse what would lose work.

        Refused: a pull over conflicts not resolved yet; a merged state that is no
        tree (both sides added ``a`` and ``a/b``); changes not committed, or files
        nobody tracks, where the merge would write.
        """
        self.refuse_conflicts("pull")
        head = self.head
        merge = merge_states(self.remote if base is None else base, head, theirs)
        try:
            validate_state(merge.state)
            check_layout(merge.state)
        except StateError as exc:
            raise WorkCopyError(
                f"cannot merge: the merged state would not be a tree: {exc}"
            ) from None
        plan = PullPlan(theirs, merge.state, merge.conflicts, diff_states(head, merge.state))
        _, status = self.scan_state()
        written = {c.key for c in plan.changes} | set(plan.files_in_conflict)
        local = {c.key for c in status.changes} | set(status.broken)
        overwritten = sorted(local & written)
        if overwritten:
            raise WorkCopyError(
                f"your changes to {', '.join(overwritten)} are not committed and the merge "
                "would write over them: commit them (`trail commit`) or put back HEAD's files "
                "(`trail reset --hard`), then pull; nothing was changed"
            )
        beside = {key + THEIRS_SUFFIX for key in plan.files_in_conflict}
        in_the_way = sorted(set(status.untracked) & (written | beside))
        if in_the_way:
            raise WorkCopyError(
                f"files nobody tracks are where the merge would write: {', '.join(in_the_way)}; "
                "move them away (or `trail add` and commit them), then pull; nothing was changed"
            )
        return plan

    def apply_pull(
        self, plan: PullPlan, store: ObjectStore, rev: int, upstream: str | None = None
    ) -> Pulled:
        """Write the merge :meth:`plan_pull` planned (the objects of ``plan.needed`` and,
        where there are, of ``plan.base_needed`` in ``store``): the changed files, the
        conflicts, HEAD; revision ``rev`` (the hub's newest) becomes what HEAD is based on.

        With ``upstream`` (the upstream device's name, ``pull --upstream``), ``rev`` is
        that device's revision: what HEAD is based on stays, and the config keeps the
        merge pending (``upstream-merge``: the revision, and the fork's revision it was
        made on) for ``trail post`` to send as the merge of upstream revision ``rev``.

        A text file both sides changed merges line by line
        (:func:`trail.textdiff.merge_lines`): when no line conflicts, the merged text
        is stored and becomes HEAD's, and the key is no conflict after all.
        """
        head, state = self.head, dict(plan.merged)
        write = {SPEC_KEY: state[SPEC_KEY]}
        write.update({c.key: state[c.key] for c in plan.changes if c.op != "removed"})
        gone = {c.key: head[c.key] for c in plan.changes if c.op == "removed"}
        write_tree(write, self.root, store, previous=gone)
        pulled = Pulled()
        records = []
        for conflict in plan.conflicts:
            key = conflict.parts[0]
            record: dict[str, Any] = {"key": key, **conflict.as_json()}
            if key in plan.files_in_conflict:
                label = f"(upstream {upstream} rev {rev})" if upstream else f"(rev {rev})"
                merged = self._merge_text(key, conflict, store, label)
                if merged is not None and not merged.conflicts:
                    data = merged.text.encode("utf-8")
                    state[key] = store.add_bytes(data)
                    write_atomic(self.root / key, data)
                    pulled.merged.append(key)
                    continue
                if merged is not None:
                    write_atomic(self.root / key, merged.text.encode("utf-8"))
                    record["kind"] = "text"
                    pulled.marked.append(key)
                elif key + THEIRS_SUFFIX not in state:
                    beside = self.root / (key + THEIRS_SUFFIX)
                    beside.parent.mkdir(parents=True, exist_ok=True)  # ours removed the folder
                    store.copy_to(conflict.theirs, beside)
                    record.update(kind="beside", beside=key + THEIRS_SUFFIX)
                    pulled.beside.append(key)
            records.append(record)
        if records:
            keys = sorted({str(r["key"]) for r in records})
            before = {"head": head, "remote": self.remote, "config": self.config, "keys": keys}
            self._write("pull.json", before)
        self._write("conflicts.json", records)
        self.set_head(state, tip=None if upstream else plan.theirs)
        cache = self._stat_cache()
        for key in [c.key for c in plan.changes] + pulled.merged + pulled.marked:
            cache.pop(key, None)
        self._write("stat.json", cache)
        config = self.config
        message = config.get("message") or ""
        if upstream:
            message = "\n".join(m for m in (message, f"Merge upstream {upstream} rev {rev}") if m)
            pending = {"name": upstream, "rev": rev, "parent-rev": config["rev"]}
            self.update_config(message=message, **{UPSTREAM_MERGE: pending})
            return pulled
        if state_sha(state) != state_sha(plan.theirs):
            message = "\n".join(m for m in (message, f"merge rev {rev}") if m)
        self.update_config(rev=rev, latest=rev, message=message)
        return pulled

    def _merge_text(
        self, key: str, conflict: Conflict, store: ObjectStore, label: str
    ) -> TextMerge | None:
        """Ours and theirs merged line by line from base, when both are text (a base
        that is absent, or not text, is empty); None for other bytes."""
        path = self.root / key
        if not isinstance(conflict.ours, str) or not path.is_file():
            return None
        if path.stat().st_size > MAX_TEXT or store.size(conflict.theirs) > MAX_TEXT:
            return None
        ours, theirs = as_text(path.read_bytes()), as_text(store.path(conflict.theirs).read_bytes())
        if ours is None or theirs is None:
            return None
        base = ""
        was = conflict.base
        if isinstance(was, str) and store.has(was) and store.size(was) <= MAX_TEXT:
            base = as_text(store.path(was).read_bytes()) or ""
        return merge_lines(base, ours, theirs, label)

    def forget_pull(self) -> None:
        """Drop what the last pull left (its conflicts, what ``--abort`` would put back):
        for a HEAD that replaced the merge (``trail get``, ``trail import``)."""
        self._write("conflicts.json", [])
        (self.meta / "pull.json").unlink(missing_ok=True)
        if UPSTREAM_MERGE in self.config:
            config = self.config
            del config[UPSTREAM_MERGE]
            self.save_config(config)

    @property
    def upstream_merge(self) -> dict[str, Any] | None:
        """The upstream merge ``pull --upstream`` left for ``trail post`` to send, if any."""
        pending = self.config.get(UPSTREAM_MERGE)
        return pending if isinstance(pending, dict) else None

    def abort_pull(self, store: ObjectStore) -> list[Change]:
        """Undo the last pull while conflicts of it remain: HEAD, ``remote.json``, the
        config and the files the pull wrote (or left in conflict) as they were before
        it (the objects of that HEAD in ``store``); a ``KEY.theirs`` it wrote goes.
        Other files, and their changes not committed, stay as they are."""
        records = self.conflicts
        before = self._read("pull.json")
        if not records or not isinstance(before, dict):
            raise WorkCopyError("no pull to abort: no conflicts of a pull remain")
        head, previous = before["head"], self.head
        check_layout(head)
        changes = diff_states(previous, head)
        keys = {c.key for c in changes} | set(before["keys"]) | {str(r.get("key")) for r in records}
        keys.discard(SPEC_KEY)
        write = {SPEC_KEY: head[SPEC_KEY], **{k: head[k] for k in keys if k in head}}
        gone = {k: previous[k] for k in keys if k not in head and k in previous}
        write_tree(write, self.root, store, previous=gone)
        for record in records:
            beside = record.get("beside")
            if isinstance(beside, str) and (self.root / beside).is_file():
                (self.root / beside).unlink()
        self.set_head(head, tip=before["remote"])
        self.save_config(before["config"])
        cache = self._stat_cache()
        for key in keys:
            cache.pop(key, None)
        self._write("stat.json", cache)
        self.forget_pull()
        return changes

    def resolve(self, paths: list[str]) -> list[str]:
        """Mark the conflicts of the last pull at ``paths`` resolved (the files hold
        what they should, and the next commit takes them); remove a ``KEY.theirs``
        that is still there. Refused while a text file still has conflict markers."""
        records = self.conflicts
        keys: list[str] = []
        for text in paths:
            key = SPEC_KEY if text == SPEC_KEY else self._key_of(Path(text))
            mine = [record for record in records if record.get("key") == key]
            if not mine:
                raise WorkCopyError(f"{text}: no conflict there (`trail status` lists them)")
            if any(r.get("kind") == "text" for r in mine) and self._has_markers(key):
                raise WorkCopyError(
                    f"{key} still has conflict markers ({OURS_MARK} … {THEIRS_MARK}): "
                    "edit it to what it should hold, then resolve it"
                )
            keys.append(key)
        for record in records:
            beside = record.get("beside")
            if record.get("key") in keys and isinstance(beside, str):
                path = self.root / beside
                if path.is_file() and not path.is_symlink():
                    path.unlink()
        self._write("conflicts.json", [r for r in records if r.get("key") not in keys])
        return keys

    def _has_markers(self, key: str) -> bool:
        path = self.root / key
        if not path.is_file():
            return False
        lines = path.read_bytes().splitlines()
        return any(
            line.startswith(OURS_MARK.encode()) or line.startswith(THEIRS_MARK.encode())
            for line in lines
        )
