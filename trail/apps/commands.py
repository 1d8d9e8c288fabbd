"""``trail app add/update/ls/info/rm``: platforms from container images.

The functions :func:`add`, :func:`update`, :func:`remove`, :func:`listing`
and :func:`info` do the work on a :class:`~trail.workcopy.WorkCopy` and
raise :class:`AppError`; the ``cmd_*`` coroutines are the CLI around them,
registered with :func:`register`.

Every change is prepared in a scratch directory under ``.trail/`` and moved
into the tree only once everything succeeded, so a failed pull, a bad layer
or a refused name leaves the working copy as it was.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import shutil
import sys
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
from trail.apps.progress import NullReporter, Reporter, RichReporter
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


# --- the CLI ----------------------------------------------------------------------------


def register(subparsers: Any, parents: list[argparse.ArgumentParser] | None = None) -> None:
    """Add ``trail app …`` to the ``trail`` parser's subcommands."""
    parents = parents or []
    parser = subparsers.add_parser(
        "app",
        help="add, update, list, show and remove platforms made from container images",
        description="Platforms from container images (OCI layout directories, docker save "
        "tarballs, registry references). See docs/apps.md.",
        parents=parents,
    )
    actions = parser.add_subparsers(dest="app_command", metavar="ACTION", required=True)

    pull = argparse.ArgumentParser(add_help=False)
    pull.add_argument(
        "--platform", metavar="OS/ARCH[/VARIANT]", help="which image of a multi-platform one"
    )
    pull.add_argument(
        "--insecure",
        action="store_true",
        help="pull over plain HTTP (only from a registry on this machine)",
    )
    pull.add_argument(
        "--insecure-remote",
        action="store_true",
        help="allow --insecure for a registry on another host too",
    )
    pull.add_argument(
        "--username",
        help="registry user name (the password comes from $TRAIL_REGISTRY_PASSWORD or a prompt)",
    )

    def action(name: str, func: Any, help: str, extra: list | None = None) -> Any:
        sub = actions.add_parser(
            name, help=help, description=help, parents=[*parents, *(extra or [])]
        )
        sub.set_defaults(func=func)
        return sub

    sub = action("add", cmd_add, "make a new platform from an image", [pull])
    sub.add_argument("name", help="the platform's name (its directory)")
    sub.add_argument(
        "--from",
        dest="source",
        required=True,
        metavar="IMAGE",
        help="an OCI layout directory, a docker save tarball, or host:port/repo:tag",
    )
    sub = action("update", cmd_update, "pull a platform's image again", [pull])
    sub.add_argument("name")
    sub.add_argument("--from", dest="source", metavar="IMAGE", help="switch to this image")
    sub = action("ls", cmd_ls, "list the platforms and their images")
    sub.add_argument("--json", action="store_true", help="print JSON")
    sub = action("info", cmd_info, "show a platform's image, config and files")
    sub.add_argument("name")
    sub.add_argument("--json", action="store_true", help="print JSON")
    sub = action("rm", cmd_rm, "remove a platform and its _config/<name>/")
    sub.add_argument("name")


def _options(ctx: Any, args: Any) -> PullOptions:
    password = None
    if args.username:
        password = os.environ.get("TRAIL_REGISTRY_PASSWORD")
        if password is None:
            if not sys.stdin.isatty():
                raise AppError("auth", "--username needs the password in $TRAIL_REGISTRY_PASSWORD")
            password = getpass.getpass(f"Registry password for {args.username}: ")
    return PullOptions(
        platform=args.platform,
        insecure=args.insecure,
        insecure_remote=args.insecure_remote,
        username=args.username,
        password=password,
        reporter=RichReporter(getattr(ctx, "err", None)),
    )


def _cli_errors(func: Any) -> Any:
    """Show an :class:`AppError` the way ``trail`` shows its own errors."""

    async def wrapper(ctx: Any, args: Any) -> int:
        try:
            return await func(ctx, args)
        except AppError as exc:
            from trail.cli.context import CLIError

            raise CLIError(exc.message) from None

    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    return wrapper


@_cli_errors
async def cmd_add(ctx: Any, args: Any) -> int:
    wc = ctx.workcopy()
    outcome = add(wc, args.name, args.source, _options(ctx, args))
    for filename in outcome.written:
        ctx.out.print(f"A {args.name}/{filename}")
    ctx.out.print(f"added platform {args.name}; `trail commit` records it")
    return 0


@_cli_errors
async def cmd_update(ctx: Any, args: Any) -> int:
    wc = ctx.workcopy()
    outcome = update(wc, args.name, _options(ctx, args), args.source)
    for filename in outcome.written:
        ctx.out.print(f"M {args.name}/{filename}")
    if outcome.written:
        ctx.out.print(f"updated platform {args.name}; `trail commit` records it")
    else:
        ctx.out.print(f"{args.name} is up to date ({outcome.image.digest_ref})")
    return 0


@_cli_errors
async def cmd_ls(ctx: Any, args: Any) -> int:
    platforms = listing(ctx.workcopy())
    if args.json:
        ctx.out.print(json.dumps(platforms, indent=2), markup=False)
        return 0
    if not platforms:
        ctx.out.print("no platforms; `trail app add NAME --from IMAGE` makes one")
        return 0
    rows = [("NAME", "IMAGE", "TAG", "DIGEST", "PLATFORM")]
    for p in platforms:
        digest = p["digest"][:19] if p["digest"] else "-"
        rows.append((p["name"], p["image"] or "-", p["tag"] or "-", digest, p["platform"] or "-"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        line = "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        ctx.out.print(line.rstrip(), markup=False)
    return 0


@_cli_errors
async def cmd_info(ctx: Any, args: Any) -> int:
    details = info(ctx.workcopy(), args.name)
    if args.json:
        ctx.out.print(json.dumps(details, indent=2), markup=False)
        return 0
    show = ctx.out.print
    show(f"name:       {details['name']}", markup=False)
    show(f"image:      {details['image'] or '-'}", markup=False)
    show(f"tag:        {details['tag'] or '-'}", markup=False)
    show(f"digest:     {details['digest'] or '-'}", markup=False)
    show(f"platform:   {details['platform'] or '-'}", markup=False)
    source = details["source"]
    if isinstance(source, dict):
        source = f"{source.get('kind')} {source.get('location')}"
    show(f"source:     {source or '-'}", markup=False)
    if details["entrypoint"]:
        show(f"entrypoint: {json.dumps(details['entrypoint'])}", markup=False)
    if details["cmd"]:
        show(f"cmd:        {json.dumps(details['cmd'])}", markup=False)
    if details["workdir"]:
        show(f"workdir:    {details['workdir']}", markup=False)
    for variable in details["env"]:
        show(f"env:        {variable}", markup=False)
    for volume in details["volumes"]:
        show(f"volume:     {volume}", markup=False)
    for filename, meta in details["files"].items():
        show(f"file:       {filename} {meta['size']} bytes sha256:{meta['sha256']}", markup=False)
    for path in details["config_files"]:
        show(f"config:     {path}", markup=False)
    return 0


@_cli_errors
async def cmd_rm(ctx: Any, args: Any) -> int:
    for path in remove(ctx.workcopy(), args.name):
        ctx.out.print(f"D {path}")
    ctx.out.print(f"removed platform {args.name}; `trail commit` records it")
    return 0
