"""The files of a platform made from an image, and reading them back.

What is written mirrors the platforms ``pvr app add`` makes (see the real
states in the test data: ``pvws``, ``vaultwarden``, ``awconnect``):

* ``run.json`` — ``service-manifest-run@1``: an LXC platform whose root
  volume is ``root.squashfs``, with an ``lxc-overlay`` that lives until the
  next boot and one permanent ``docker-<path>`` storage per image volume;
* ``lxc.container.conf`` — the image's entrypoint and command, working
  directory and environment, the root on an overlay of the squashfs, and a
  bind mount per volume;
* ``src.json`` — ``service-manifest-src@1``: ``docker_name``, ``docker_tag``,
  ``docker_digest`` (``name@sha256:…``), ``docker_config`` (the image's
  config), ``docker_platform``, ``docker_source``, and ``trail_source``
  (where ``trail app update`` pulls from again);
* ``root.squashfs.docker-digest`` — the ``docker_digest`` text, no newline.

:func:`platforms_of` is the one reader of that information from a state; the
portal calls it for device and revision pages, and ``trail app ls`` for the
working copy.
"""

from __future__ import annotations

import re
from typing import Any

from trail.apps.errors import AppError
from trail.apps.sources.base import ResolvedImage

RUN_SPEC = "service-manifest-run@1"
SRC_SPEC = "service-manifest-src@1"
TEMPLATE = "builtin-lxc-docker"
FILES = (
    "lxc.container.conf",
    "root.squashfs",
    "root.squashfs.docker-digest",
    "run.json",
    "src.json",
)
#: Names a platform cannot have: the BSP and the state's own directories.
RESERVED = frozenset({"bsp", "_config", "_sigs", "_hostconfig", "_dm", ".trail", ".pvr"})
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")


def check_name(name: str) -> str:
    """``name`` if it can name a platform, else :class:`AppError` (``bad-name``)."""
    if name in RESERVED or name.endswith(".json") or not _NAME.fullmatch(name):
        raise AppError(
            "bad-name",
            f"{name!r} cannot name a platform: use 1-63 lowercase letters, digits, '.', '_' "
            "or '-', starting with a letter or digit (and not bsp)",
        )
    return name


def volume_key(volume: str) -> str:
    """The storage name pvr gives an image volume: ``/data`` → ``docker--data``."""
    return "docker-" + volume.rstrip("/").replace("/", "-")


def _volumes(config: dict[str, Any]) -> list[str]:
    volumes = config.get("Volumes")
    return sorted(v for v in volumes if v.strip("/")) if isinstance(volumes, dict) else []


def run_manifest(name: str, config: dict[str, Any], previous: Any = None) -> dict[str, Any]:
    """``run.json`` for a platform with image config ``config``.

    On an update, what the person set in the previous one (group, drivers,
    storage persistence, …) is kept; only storage for volumes the image no
    longer declares goes, and storage for new volumes comes.
    """
    run: dict[str, Any] = dict(previous) if isinstance(previous, dict) else {}
    run.setdefault("drivers", {"manual": [], "optional": [], "required": []})
    run.setdefault("volumes", [])
    run.setdefault("root-volume", "root.squashfs")
    run.update({"#spec": RUN_SPEC, "name": name, "config": "lxc.container.conf", "type": "lxc"})
    old_storage = run.get("storage") if isinstance(run.get("storage"), dict) else {}
    wanted = {volume_key(v) for v in _volumes(config)}
    storage = {
        key: value
        for key, value in old_storage.items()
        if not key.startswith("docker-") or key in wanted
    }
    for key in sorted(wanted):
        storage.setdefault(key, {"persistence": "permanent"})
    storage.setdefault("lxc-overlay", {"persistence": "boot"})
    run["storage"] = storage
    return run


def src_manifest(image: ResolvedImage, previous: Any = None) -> dict[str, Any]:
    """``src.json`` for ``image``; keys the person added (``args``,
    ``persistence``…) survive an update."""
    src: dict[str, Any] = dict(previous) if isinstance(previous, dict) else {}
    src.setdefault("template", TEMPLATE)
    src.update(
        {
            "#spec": SRC_SPEC,
            "docker_config": image.container_config,
            "docker_digest": image.digest_ref,
            "docker_name": image.name,
            "docker_platform": str(image.platform),
            "docker_source": image.docker_source,
            "trail_source": image.source,
        }
    )
    if image.tag:
        src["docker_tag"] = image.tag
    else:
        src.pop("docker_tag", None)
    return src


def lxc_config(name: str, config: dict[str, Any]) -> bytes:
    """``lxc.container.conf`` for a platform running image config ``config``."""
    lines = [
        "lxc.tty.max = 8",
        "lxc.pty.max = 1024",
        "lxc.cgroup.devices.allow = a",
        f"lxc.rootfs.path = overlayfs:/volumes/{name}/root.squashfs"
        f":/volumes/{name}/lxc-overlay/upper",
        f"lxc.init.cmd = {_init_command(config)}",
    ]
    workdir = config.get("WorkingDir")
    if isinstance(workdir, str) and workdir:
        lines.append(f"lxc.init.cwd = {_one_line(workdir, 'WorkingDir')}")
    for variable in config.get("Env") or []:
        lines.append(f"lxc.environment = {_one_line(str(variable), 'Env')}")
    lines += [
        "lxc.namespace.keep = user net ipc",
        "lxc.mount.auto = proc sys:rw cgroup",
        "lxc.mount.entry = /etc/resolv.conf etc/resolv.conf none bind,rw,create=file 0 0",
        "lxc.mount.entry = tmpfs run tmpfs rw,nodev,relatime,create=dir,mode=755 0 0",
    ]
    for volume in _volumes(config):
        target = _one_line(volume.strip("/"), "Volumes")
        lines.append(
            f"lxc.mount.entry = /volumes/{name}/{volume_key(volume)} {target} "
            "none bind,rw,create=dir 0 0"
        )
    return ("\n".join(lines) + "\n").encode("utf-8")


def _init_command(config: dict[str, Any]) -> str:
    """Docker's rule: the entrypoint, with the command as its arguments; or
    the command alone; or ``/sbin/init`` when the image names neither."""
    argv = [*_words(config.get("Entrypoint")), *_words(config.get("Cmd"))]
    while argv and not argv[0]:
        argv.pop(0)
    if not argv:
        return "/sbin/init"
    # LXC splits the line itself, honouring quotes: keep each argument whole.
    return " ".join([_one_line(argv[0], "Entrypoint/Cmd"), *(_quote(arg) for arg in argv[1:])])


def _words(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(word) for word in value]
    if isinstance(value, str) and value:
        return [value]
    return []


def _quote(arg: str) -> str:
    arg = _one_line(arg, "Entrypoint/Cmd")
    return f"'{arg}'" if '"' in arg and "'" not in arg else f'"{arg}"'


def _one_line(text: str, what: str) -> str:
    if "\n" in text or "\r" in text:
        raise AppError(
            "bad-image",
            f"the image's {what} has a line break, which lxc.container.conf cannot hold",
        )
    return text


def digest_file(image: ResolvedImage) -> bytes:
    """``root.squashfs.docker-digest``: the pinned reference, as pvr writes it."""
    return image.digest_ref.encode("utf-8")


# --- reading ------------------------------------------------------------------------


def describe(name: str, src: Any) -> dict[str, Any]:
    """What people want to know about platform ``name`` from its ``src.json``
    (``None`` for a platform not made from an image)."""
    src = src if isinstance(src, dict) else {}
    reference = src.get("docker_digest")
    digest = None
    if isinstance(reference, str) and "@" in reference:
        digest = reference.rsplit("@", 1)[1]
    return {
        "name": name,
        "image": src.get("docker_name") if isinstance(src.get("docker_name"), str) else None,
        "tag": src.get("docker_tag") if isinstance(src.get("docker_tag"), str) else None,
        "digest": digest,
        "platform": src.get("docker_platform")
        if isinstance(src.get("docker_platform"), str)
        else None,
    }


def is_platform_run(value: Any) -> bool:
    return isinstance(value, dict) and value.get("#spec") == RUN_SPEC


def platforms_of(state: dict[str, Any]) -> list[dict[str, Any]]:
    """The platforms of a state, sorted by name, each as
    ``{"name", "image", "tag", "digest", "platform"}``.

    A platform is a top-level directory whose ``run.json`` is a
    ``service-manifest-run@1``. ``image`` (e.g. ``registry.example.com/team/app``),
    ``tag`` (``1.2``), ``digest`` (``sha256:…``) and ``platform``
    (``linux/arm64``) come from its ``src.json`` and are None when it has
    none (a platform not made from an image). Pure: no I/O, no Django.
    """
    names = sorted(
        key[: -len("/run.json")]
        for key, value in state.items()
        if key.endswith("/run.json") and key.count("/") == 1 and is_platform_run(value)
    )
    return [describe(name, state.get(f"{name}/src.json")) for name in names]
