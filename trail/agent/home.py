"""A simulated device's disk: identity, progress, object store, installed revisions.

::

    DIR/device.json        {id, prn, challenge} — what a person needs to claim it
    DIR/secret             the device's password (mode 600)
    DIR/agent-state.json   progress of the update in hand, so a restart resumes it
    DIR/current            the revision the device runs
    DIR/objects/<sha>      verified objects (``.part`` while downloading)
    DIR/trails/<rev>/      each installed revision: the tree ``trail clone`` gives,
                           plus ``.pvr/json`` with its state, as on a Pantavisor device
    DIR/user-meta.json     the owner's user-meta, as last read

Every write is atomic (a temporary file renamed into place): the process may
be killed at any moment, and the next run must find either the old or the new
content.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from trail.objects import ObjectStore
from trail.tree import json_bytes, write_atomic, write_tree


class Home:
    """The directory of one simulated device."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.store = ObjectStore(self.root / "objects")

    def _read_json(self, name: str, default: Any = None) -> Any:
        try:
            return json.loads((self.root / name).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return default

    def _write_json(self, name: str, value: Any, mode: int | None = None) -> None:
        write_atomic(self.root / name, json_bytes(value), mode)

    # --- identity --------------------------------------------------------------

    @property
    def identity(self) -> dict[str, Any] | None:
        return self._read_json("device.json")

    @property
    def secret(self) -> str | None:
        try:
            return (self.root / "secret").read_text().strip() or None
        except FileNotFoundError:
            return None

    def save_identity(self, device: dict[str, Any], secret: str) -> None:
        # The secret first: an identity without its secret could never log in.
        write_atomic(self.root / "secret", secret.encode() + b"\n", 0o600)
        self._write_json(
            "device.json",
            {"id": device["id"], "prn": device["prn"], "challenge": device.get("challenge", "")},
        )

    # --- progress ------------------------------------------------------------------

    @property
    def progress(self) -> dict[str, Any]:
        return self._read_json("agent-state.json", {})

    def save_progress(self, **changes: Any) -> dict[str, Any]:
        progress = self.progress
        progress.update(changes)
        self._write_json("agent-state.json", progress)
        return progress

    # --- revisions -------------------------------------------------------------------

    @property
    def current(self) -> int | None:
        try:
            return int((self.root / "current").read_text())
        except (FileNotFoundError, ValueError):
            return None

    def set_current(self, rev: int) -> None:
        write_atomic(self.root / "current", f"{rev}\n".encode())

    def tree(self, rev: int) -> Path:
        return self.root / "trails" / str(rev)

    def installed_state(self, rev: int) -> dict[str, Any] | None:
        try:
            return json.loads((self.tree(rev) / ".pvr" / "json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None

    def install(self, rev: int, state: dict[str, Any]) -> Path:
        """Write revision ``rev`` into ``trails/<rev>/`` from the store, all or nothing:
        it is built aside and renamed into place."""
        final = self.tree(rev)
        if self.installed_state(rev) == state:
            return final
        staging = final.with_name(f".{rev}.installing")
        shutil.rmtree(staging, ignore_errors=True)
        write_tree(state, staging, self.store, link=True)
        write_atomic(staging / ".pvr" / "json", json_bytes(state))
        shutil.rmtree(final, ignore_errors=True)
        os.replace(staging, final)
        return final

    def save_user_meta(self, meta: dict[str, Any]) -> bool:
        """Keep the owner's user-meta; whether it changed."""
        if self._read_json("user-meta.json") == meta:
            return False
        self._write_json("user-meta.json", meta)
        return True
