"""Where images come from, and how ``--from`` is read.

``--from`` accepts:

* ``oci:PATH[:REF]`` or a directory: an OCI image layout;
* ``docker-archive:PATH[:NAME:TAG]`` or a file: a ``docker save`` tarball;
* ``docker://REFERENCE`` or anything else: a registry reference such as
  ``127.0.0.1:5000/team/app:1.2`` or ``team/app@sha256:…``.

:func:`open_source` turns that text into an :class:`ImageSource`. What it
resolves to carries a record of where it came from (``ResolvedImage.source``,
kept in ``src.json``), which :func:`open_recorded` reopens so that
``trail app update`` pulls from the same place.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from trail.apps.errors import AppError
from trail.apps.progress import Reporter
from trail.apps.reference import parse_reference
from trail.apps.sources.base import ImageSource, Platform, ResolvedImage
from trail.apps.sources.local import DockerArchiveSource, oci_layout
from trail.apps.sources.registry import RegistrySource

__all__ = ["ImageSource", "Platform", "ResolvedImage", "open_recorded", "open_source"]


def open_source(
    text: str,
    *,
    workdir: Path,
    base: Path | None = None,
    insecure: bool = False,
    insecure_remote: bool = False,
    username: str | None = None,
    password: str | None = None,
    reporter: Reporter | None = None,
) -> ImageSource:
    """The source that ``--from text`` names.

    ``workdir`` is a scratch directory (downloaded layers go there); paths
    are kept relative to ``base`` (the working copy) when they are inside it.
    """
    for prefix, kind in (("oci:", "oci-layout"), ("docker-archive:", "docker-archive")):
        if text.startswith(prefix):
            path, ref = _split_path(text[len(prefix) :], want_dir=kind == "oci-layout")
            return _local(kind, path, ref, base)
    if text.startswith("docker://"):
        text = text[len("docker://") :]
    elif os.path.exists(text):
        path = Path(text)
        return _local("oci-layout" if path.is_dir() else "docker-archive", path, None, base)
    elif text.startswith(("/", "./", "../", "~")):
        raise AppError("not-found", f"{text}: no such file or directory")
    return RegistrySource(
        parse_reference(text),
        workdir=workdir,
        insecure=insecure,
        insecure_remote=insecure_remote,
        username=username,
        password=password,
        reporter=reporter,
    )


def open_recorded(
    record: dict[str, Any], *, base: Path, workdir: Path, **options: Any
) -> ImageSource:
    """Reopen the source that :func:`source_record` described (for updates)."""
    kind = record.get("kind")
    location = record.get("location")
    if not isinstance(location, str) or kind not in ("registry", "oci-layout", "docker-archive"):
        raise AppError("bad-source", "src.json does not say where the image came from")
    if kind == "registry":
        options["insecure"] = options.get("insecure") or bool(record.get("insecure"))
        return open_source(f"docker://{location}", workdir=workdir, base=base, **options)
    path = Path(location) if os.path.isabs(location) else base / location
    return _local(kind, path, record.get("ref"), base)


def _split_path(text: str, want_dir: bool) -> tuple[Path, str | None]:
    """``PATH[:REF]``, where PATH may itself contain colons: the longest
    prefix that exists is the path."""
    if os.path.exists(text):
        return Path(text), None
    cut = len(text)
    while (cut := text.rfind(":", 0, cut)) > 0:
        candidate = text[:cut]
        if os.path.isdir(candidate) if want_dir else os.path.isfile(candidate):
            return Path(candidate), text[cut + 1 :] or None
    raise AppError("not-found", f"{text!r}: no such {'directory' if want_dir else 'file'}")


def _local(kind: str, path: Path, ref: str | None, base: Path | None) -> ImageSource:
    if not path.exists():
        raise AppError("not-found", f"{path}: no such file or directory")
    location = _location(path, base)
    if kind == "oci-layout":
        if not path.is_dir():
            raise AppError("bad-source", f"{path} is not a directory (an OCI image layout is one)")
        return oci_layout(path, location, ref)
    if not path.is_file():
        raise AppError("bad-source", f"{path} is not a file (a docker save tarball is one)")
    return DockerArchiveSource(path, location, ref)


def _location(path: Path, base: Path | None) -> str:
    absolute = path.resolve()
    if base is not None:
        try:
            return absolute.relative_to(base.resolve()).as_posix()
        except ValueError:
            pass
    return str(absolute)
