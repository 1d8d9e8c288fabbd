"""The factory state a simulated device posts as its revision 0.

From ``--factory DIR`` (a tree of files, as ``trail clone`` writes one; the
``#spec`` comes from its ``.trail/json`` or ``.pvr/json`` when there is one),
or else a small built-in device: a BSP and the ``pv-avahi`` platform with a
hostname under ``_config/``. Built once per process and shared by every
simulated device, whose stores hard-link the objects.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from trail.objects import ObjectStore
from trail.state import SPEC_KEY, SPECS, StateError, is_object_key, validate_state
from trail.tree import check_layout, read_value, scan

DEFAULT_SPEC = SPECS[0]


def _blob(name: str, size: int) -> bytes:
    """Deterministic filler bytes, the same in every process (so the hub stores them once)."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{name}:{counter}".encode()).digest()
        counter += 1
    return bytes(out[:size])


def builtin_files() -> dict[str, Any]:
    """Key -> inline JSON value or object bytes of the built-in factory device."""
    return {
        "bsp/run.json": {
            "addons": [],
            "firmware": "firmware.squashfs",
            "initrd": "pantavisor",
            "linux": "kernel.img",
            "modules": "modules.squashfs",
        },
        "bsp/kernel.img": _blob("kernel", 48 * 1024),
        "bsp/pantavisor": _blob("pantavisor", 16 * 1024),
        "bsp/modules.squashfs": _blob("modules", 8 * 1024),
        "bsp/firmware.squashfs": _blob("firmware", 8 * 1024),
        "pv-avahi/run.json": {
            "#spec": "service-manifest-run@1",
            "config": "lxc.container.conf",
            "name": "pv-avahi",
            "root-volume": "root.squashfs",
            "type": "lxc",
            "volumes": [],
        },
        "pv-avahi/lxc.container.conf": b"lxc.uts.name = pv-avahi\nlxc.tty.max = 0\n",
        "pv-avahi/root.squashfs": _blob("pv-avahi", 24 * 1024),
        "_config/pv-avahi/etc/hostname": b"trail-device\n",
        "device.json": {"groups": [{"name": "platform", "status_goal": "STARTED"}]},
    }


class Factory:
    """A factory state and a store holding its objects."""

    def __init__(self, state: dict[str, Any], store: ObjectStore) -> None:
        self.state = state
        self.store = store

    @classmethod
    def build(cls, seed: ObjectStore, source: Path | None = None) -> Factory:
        """Read ``source`` (or the built-in device) into a state; objects go into ``seed``."""
        if source is None:
            state: dict[str, Any] = {SPEC_KEY: DEFAULT_SPEC}
            for key, value in builtin_files().items():
                state[key] = seed.add_bytes(value) if isinstance(value, bytes) else value
        else:
            state = {SPEC_KEY: _spec_of(source)}
            for key in scan(source):
                state[key] = read_value(source, key)
                if is_object_key(key):
                    seed.add_file(source / key, state[key])
        try:
            validate_state(state)
            check_layout(state)
        except StateError as exc:
            where = source or "built-in factory"
            raise StateError(exc.code, f"{where}: {exc.detail}", exc.key) from None
        return cls(state, seed)

    def stock(self, store: ObjectStore) -> None:
        """Put the factory objects into a device's store."""
        for key, value in self.state.items():
            if is_object_key(key):
                store.take_from(self.store, value)


def _spec_of(source: Path) -> str:
    for meta in (".trail/json", ".pvr/json"):
        try:
            spec = json.loads((source / meta).read_text()).get(SPEC_KEY)
        except (FileNotFoundError, ValueError, AttributeError):
            continue
        if spec:
            return spec
    return DEFAULT_SPEC
