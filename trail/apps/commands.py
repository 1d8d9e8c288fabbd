"""Platforms from container images: the work behind ``trail app add/update/ls/info/rm``.

The functions :func:`add`, :func:`update`, :func:`remove`, :func:`listing`
and :func:`info` do the work on a :class:`~trail.workcopy.WorkCopy` and
raise :class:`AppError`; the CLI around them is :mod:`trail.cli.apps`.

Every change is prepared in a scratch directory under ``.trail/`` and moved
into the tree only once everything succeeded, so a failed pull, a bad layer
or a refused name leaves the working copy as it was.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trail.apps import squashfs
from trail.apps.errors import AppError
from trail.apps.layers import RootFS
from trail.apps.platform import (
    check_name,
    describe,
    digest_file,
    is_platform_run,
    lxc_config,
    platforms_of,
    run_manifest,
    src_manifest,
)
from trail.apps.progress import NullReporter, Reporter
from trail.apps.sources import ImageSource, open_recorded, open_source
from trail.apps.sources.base import Platform, ResolvedImage
from trail.objects import sha256_file
from trail.state import StateError, load_state
from trail.tree import json_bytes
from trail.workcopy import WorkCopy

#: The working copy's default platforms for multi-platform images, as pvr keeps them.
HOSTCONFIG = "_hostconfig/pvr/docker.json"


@dataclass
class PullOptions:
    """How to reach an image: the ``--platform``, ``--insecure``… options."""

    platform: str | None = None
    insecure: bool = False
    insecure_remote: bool = False
    username: str | None = None
    password: str | None = None
    reporter: Reporter = field(default_factory=NullReporter)

    def source_options(self) -> dict[str, Any]:
        return {
            "insecure": self.insecure,
            "insecure_remote": self.insecure_remote,
            "username": self.username,
            "password": self.password,
            "reporter": self.reporter,
        }


@dataclass
class Outcome:
    """What a command did: the image and the platform files it wrote."""

    name: str
    image: ResolvedImage | None
    written: list[str] = field(default_factory=list)


# --- the work ------------------------------------------------------------------------


def add(wc: WorkCopy, name: str, source_text: str, options: PullOptions) -> Outcome:
    """Make platform ``name`` from the image ``source_text`` names; mark its
    files for the next commit."""
    check_name(name)
    _check_free(wc, name)
    with _scratch(wc) as scratch:
        with open_source(
            source_text, workdir=scratch, base=wc.root, **options.source_options()
        ) as source:
            image = _resolve(wc, source, options.platform, options)
            squashfs_path = _build(source, image, scratch, options.reporter)
        stage = scratch / "platform"
        stage.mkdir()
        os.replace(squashfs_path, stage / "root.squashfs")
        files = _files(name, image, previous_run=None, previous_src=None)
        for filename, data in files.items():
            (stage / filename).write_bytes(data)
        _check_free(wc, name)  # still free after the pull, which may have taken minutes
        os.replace(stage, wc.root / name)
    wc.add([wc.root / name])
    return Outcome(name, image, sorted([*files, "root.squashfs"]))


def update(
    wc: WorkCopy, name: str, options: PullOptions, source_text: str | None = None
) -> Outcome:
    """Pull platform ``name``'s image again (or ``source_text`` instead) and
    change only the files that differ."""
    directory = _platform_dir(wc, name)
    src = _read_json_or_none(directory / "src.json")
    if not isinstance(src, dict) or not src.get("docker_name"):
        raise AppError("no-such-app", f"{name} was not made from an image (no src.json to follow)")
    run = _read_json(directory / "run.json", f"{name}/run.json")
    platform = options.platform or src.get("docker_platform")
    with _scratch(wc) as scratch:
        if source_text is not None:
            opened = open_source(
                source_text, workdir=scratch, base=wc.root, **options.source_options()
            )
        else:
            opened = open_recorded(
                _recorded_source(src),
                base=wc.root,
                workdir=scratch,
                **options.source_options(),
            )
        with opened as source:
            image = _resolve(wc, source, platform, options)
            new_squashfs = None
            same_image = src.get("docker_digest") == image.digest_ref
            if not (same_image and (directory / "root.squashfs").is_file()):
                new_squashfs = _build(source, image, scratch, options.reporter)
        files = _files(name, image, previous_run=run, previous_src=src)
        old_config = src.get("docker_config")
        # A hand-edited lxc.container.conf stays unless the image changed what it says.
        if (
            isinstance(old_config, dict)
            and (directory / "lxc.container.conf").is_file()
            and lxc_config(name, old_config) == files["lxc.container.conf"]
        ):
            del files["lxc.container.conf"]
        written = []
        for filename, data in sorted(files.items()):
            target = directory / filename
            if filename.endswith(".json"):
                unchanged = _read_json_or_none(target) == json.loads(data)
            else:
                unchanged = target.is_file() and target.read_bytes() == data
            if not unchanged:
                _replace(target, data, scratch)
                written.append(filename)
        if new_squashfs is not None:
            target = directory / "root.squashfs"
            if not (target.is_file() and sha256_file(target) == sha256_file(new_squashfs)):
                os.replace(new_squashfs, target)
                written.append("root.squashfs")
    return Outcome(name, image, sorted(written))


def remove(wc: WorkCopy, name: str) -> list[str]:
    """Remove platform ``name``, its ``_config/<name>/`` and its signature;
    return the paths removed."""
    directory = _platform_dir(wc, name)
    removed = []
    for path in (directory, wc.root / "_config" / name, wc.root / "_sigs" / f"{name}.json"):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
        else:
            continue
        removed.append(path.relative_to(wc.root).as_posix())
    return removed


def listing(wc: WorkCopy) -> list[dict[str, Any]]:
    """The working copy's platforms as :func:`platforms_of` describes them."""
    files: dict[str, Any] = {}
    for directory in sorted(wc.root.iterdir()):
        if directory.name.startswith(".") or not (directory / "run.json").is_file():
            continue
        for filename in ("run.json", "src.json"):
            value = _read_json_or_none(directory / filename)
            if value is not None:
                files[f"{directory.name}/{filename}"] = value
    return platforms_of(files)


def info(wc: WorkCopy, name: str) -> dict[str, Any]:
    """Everything ``trail app info`` shows about platform ``name``."""
    directory = _platform_dir(wc, name)
    src = _read_json_or_none(directory / "src.json")
    details = describe(name, src)
    src = src if isinstance(src, dict) else {}
    config = src.get("docker_config") if isinstance(src.get("docker_config"), dict) else {}
    details.update(
        {
            "reference": src.get("docker_digest"),
            "source": src.get("trail_source") or src.get("docker_source"),
            "entrypoint": config.get("Entrypoint"),
            "cmd": config.get("Cmd"),
            "env": config.get("Env") or [],
            "workdir": config.get("WorkingDir") or None,
            "volumes": sorted(config.get("Volumes") or {}),
            "files": {
                path.name: {"size": path.stat().st_size, "sha256": sha256_file(path)}
                for path in sorted(directory.iterdir())
                if path.is_file() and not path.name.endswith(".json")
            },
            "config_files": sorted(
                path.relative_to(wc.root).as_posix()
                for path in (wc.root / "_config" / name).rglob("*")
                if path.is_file()
            ),
        }
    )
    return details


# --- helpers ---------------------------------------------------------------------------


def _resolve(
    wc: WorkCopy, source: ImageSource, platform: str | None, options: PullOptions
) -> ResolvedImage:
    wanted = [Platform.parse(platform)] if platform else _default_platforms(wc)
    if len(wanted) <= 1:
        image = source.resolve(wanted[0] if wanted else None)
    else:
        image = _first_platform(source, wanted)
    tag = f":{image.tag}" if image.tag else ""
    options.reporter.note(
        f"{image.name}{tag} {image.digest} ({image.platform}, {len(image.layers)} layers)"
    )
    return image


def _first_platform(source: ImageSource, wanted: list[Platform]) -> ResolvedImage:
    refusal: AppError | None = None
    for platform in wanted:
        try:
            return source.resolve(platform)
        except AppError as exc:
            if exc.code != "unsupported-platform":
                raise
            refusal = refusal or exc
    assert refusal is not None
    raise refusal


def _default_platforms(wc: WorkCopy) -> list[Platform]:
    """The platforms ``_hostconfig/pvr/docker.json`` lists, as pvr reads them."""
    hostconfig = _read_json_or_none(wc.root / HOSTCONFIG)
    names = hostconfig.get("platforms") if isinstance(hostconfig, dict) else None
    if not isinstance(names, list):
        return []
    return [Platform.parse(str(name)) for name in names]


def _build(source: ImageSource, image: ResolvedImage, scratch: Path, reporter: Reporter) -> Path:
    """Apply the layers and write the squashfs; return its path."""
    rootfs = RootFS(scratch / "rootfs")
    count = len(image.layers)
    for number, layer in enumerate(image.layers, 1):
        with source.open_layer(layer) as stream:
            rootfs.apply(stream, layer, f"layer {number}/{count}", reporter)
    image_path = scratch / "root.squashfs"
    reporter.note(f"writing root.squashfs ({len(rootfs.nodes)} entries)")
    squashfs.build(rootfs, image_path)
    shutil.rmtree(rootfs.store)  # the file bytes are in the squashfs now
    return image_path


def _files(
    name: str, image: ResolvedImage, previous_run: Any, previous_src: Any
) -> dict[str, bytes]:
    config = image.container_config
    return {
        "lxc.container.conf": lxc_config(name, config),
        "root.squashfs.docker-digest": digest_file(image),
        "run.json": json_bytes(run_manifest(name, config, previous_run)),
        "src.json": json_bytes(src_manifest(image, previous_src)),
    }


def _recorded_source(src: dict[str, Any]) -> dict[str, Any]:
    record = src.get("trail_source")
    if isinstance(record, dict):
        return record
    # Made by pvr: the image name and tag say where it is.
    tag = src.get("docker_tag") or "latest"
    return {"kind": "registry", "location": f"{src['docker_name']}:{tag}"}


def _check_free(wc: WorkCopy, name: str) -> None:
    taken = (wc.root / name).exists() or (wc.root / name).is_symlink()
    if not taken:
        prefix = f"{name}/"
        taken = any(key.startswith(prefix) for key in wc.head)
    if taken:
        raise AppError(
            "name-taken",
            f"{name} already exists in this working copy; choose another name, "
            f"or `trail app update {name}` / `trail app rm {name}`",
        )


def _platform_dir(wc: WorkCopy, name: str) -> Path:
    directory = wc.root / name
    if (
        name in ("", ".", "..")
        or "/" in name
        or directory.is_symlink()
        or not is_platform_run(_read_json_or_none(directory / "run.json"))
    ):
        raise AppError("no-such-app", f"there is no platform {name!r} in this working copy")
    return directory


def _read_json(path: Path, key: str) -> Any:
    try:
        return load_state(path.read_bytes())
    except FileNotFoundError:
        raise AppError("no-such-app", f"{key} is missing") from None
    except StateError as exc:
        raise AppError("bad-source", f"{key}: {exc}") from None


def _read_json_or_none(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None


def _replace(target: Path, data: bytes, scratch: Path) -> None:
    fd, tmp = tempfile.mkstemp(dir=scratch, prefix="file-")
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.replace(tmp, target)


@contextmanager
def _scratch(wc: WorkCopy) -> Iterator[Path]:
    """A scratch directory on the working copy's filesystem (so results can
    be renamed into place), removed whatever happens."""
    wc.meta.mkdir(exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix="app-", dir=wc.meta))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
