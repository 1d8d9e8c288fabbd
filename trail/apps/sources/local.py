"""Images in files: an OCI image layout directory and a ``docker save`` tarball.

A ``docker save`` tarball comes in two shapes: the legacy one (a
``manifest.json`` naming a config file and one ``layer.tar`` per layer, with
no manifest digest) and, since Docker 25, an OCI image layout inside the tar
(``oci-layout``, ``index.json``, ``blobs/sha256/…``) next to that
``manifest.json``. The OCI shape is preferred when present, because it has
the manifest digest that a registry would show.
"""

from __future__ import annotations

import json
import os
import re
import tarfile
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, BinaryIO

from trail.apps.errors import AppError
from trail.apps.reference import parse_reference
from trail.apps.sources.base import (
    SNIFF,
    Descriptor,
    ImageSource,
    Layer,
    Platform,
    ResolvedImage,
    check_document,
    check_platform,
    diff_ids_of,
    parse_json,
    read_limited,
    resolve_manifest,
    sha256_digest,
)

REF_NAME = "org.opencontainers.image.ref.name"
CONTAINERD_NAME = "io.containerd.image.name"


class _Blobs(ABC):
    """Files of a layout, in a directory or in a tarball, by relative path."""

    @abstractmethod
    def exists(self, path: str) -> bool: ...

    @abstractmethod
    def open(self, path: str) -> IO[bytes]: ...

    def read(self, path: str, what: str) -> bytes:
        with self.open(path) as stream:
            return read_limited(stream, what)

    def blob_path(self, digest: str) -> str:
        algorithm, _, hexdigest = digest.partition(":")
        return f"blobs/{algorithm}/{hexdigest}"


class _DirBlobs(_Blobs):
    def __init__(self, root: Path) -> None:
        self.root = root

    def exists(self, path: str) -> bool:
        return (self.root / path).is_file()

    def open(self, path: str) -> IO[bytes]:
        try:
            return (self.root / path).open("rb")
        except OSError as exc:
            raise AppError(
                "bad-image", f"{self.root}: cannot read {path}: {exc.strerror}"
            ) from None


class _TarBlobs(_Blobs):
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            # Random access: only the member headers are read up front.
            self.tar = tarfile.open(path, "r:*")  # noqa: SIM115 - closed by close()
            self.members = {
                _normal(member.name): member
                for member in self.tar.getmembers()
                if member.isfile() or member.issym() or member.islnk()
            }
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise AppError("bad-source", f"{path} is not a readable tar file: {exc}") from None

    def exists(self, path: str) -> bool:
        return _normal(path) in self.members

    def open(self, path: str) -> IO[bytes]:
        member = self.members.get(_normal(path))
        stream = self.tar.extractfile(member) if member is not None else None
        if stream is None:
            raise AppError("bad-image", f"{self.path} has no file {path}")
        return stream

    def size(self, path: str) -> int:
        return self.members[_normal(path)].size

    def close(self) -> None:
        self.tar.close()


def _normal(name: str) -> str:
    while name.startswith("./"):
        name = name[2:]
    return name


class LayoutSource(ImageSource):
    """An OCI image layout, in a directory or (for ``docker save``) a tarball.

    ``ref`` picks an image when ``index.json`` lists several: it is compared
    with each entry's ``org.opencontainers.image.ref.name`` and
    ``io.containerd.image.name`` annotations.
    """

    docker_source = "local"

    def __init__(
        self, blobs: _Blobs, where: str, kind: str, location: str, ref: str | None = None
    ) -> None:
        self.blobs = blobs
        self.where = where
        self.kind = kind
        self.location = location
        self.ref = ref

    def resolve(self, platform: Platform | None) -> ResolvedImage:
        if not self.blobs.exists("oci-layout"):
            raise AppError("bad-source", f"{self.where} is not an OCI image layout (no oci-layout)")
        layout = parse_json(self.blobs.read("oci-layout", "oci-layout"), f"{self.where} oci-layout")
        if not str(layout.get("imageLayoutVersion", "")).startswith("1."):
            raise AppError(
                "unsupported-media-type",
                f"{self.where}: image layout version {layout.get('imageLayoutVersion')!r} "
                "is not supported (1.x is)",
            )
        index = parse_json(self.blobs.read("index.json", "index.json"), f"{self.where} index.json")
        top = self._pick(index)
        manifest = resolve_manifest(self._fetch, top, platform, self.where)
        name, tag = self._name_and_tag(top)
        return ResolvedImage(
            name=name,
            tag=tag,
            digest=manifest.digest,
            config=manifest.config,
            layers=manifest.layers,
            platform=manifest.platform,
            docker_source=self.docker_source,
            source=self._source(),
        )

    def _source(self) -> dict[str, Any]:
        source: dict[str, Any] = {"kind": self.kind, "location": self.location}
        if self.ref:
            source["ref"] = self.ref
        return source

    def _pick(self, index: dict[str, Any]) -> Descriptor:
        entries = [
            Descriptor.of(raw, f"{self.where} index.json manifests[{number}]")
            for number, raw in enumerate(index.get("manifests") or [])
        ]
        if not entries:
            raise AppError("not-found", f"{self.where} holds no image (index.json is empty)")
        if self.ref is None:
            if len(entries) == 1:
                return entries[0]
            names = sorted({_label(entry) for entry in entries})
            raise AppError(
                "not-found",
                f"{self.where} holds {len(entries)} images ({', '.join(names)}); "
                f"name one as {self.kind}:PATH:REF",
            )
        for entry in entries:
            if self.ref in (
                entry.annotations.get(REF_NAME),
                entry.annotations.get(CONTAINERD_NAME),
                _short(entry.annotations.get(CONTAINERD_NAME)),
            ):
                return entry
        names = sorted({_label(entry) for entry in entries})
        raise AppError(
            "not-found",
            f"{self.where} has no image {self.ref!r} (it has {', '.join(names) or 'unnamed ones'})",
        )

    def _fetch(self, descriptor: Descriptor, what: str) -> bytes:
        assert descriptor.digest is not None
        path = self.blobs.blob_path(descriptor.digest)
        if not self.blobs.exists(path):
            raise AppError("bad-image", f"{self.where} lacks the blob of the {what} ({path})")
        return check_document(self.blobs.read(path, what), descriptor, f"{self.where} {what}")

    def _name_and_tag(self, top: Descriptor) -> tuple[str, str | None]:
        full = top.annotations.get(CONTAINERD_NAME)
        if full:
            try:
                ref = parse_reference(full)
                return ref.name, ref.tag
            except AppError:
                pass
        ref_name = top.annotations.get(REF_NAME) or self.ref
        if ref_name and ("/" in ref_name or ":" in ref_name):
            try:
                ref = parse_reference(ref_name)
                return ref.name, ref.tag
            except AppError:
                pass
        return _name_from_path(self.location), ref_name

    @contextmanager
    def open_layer(self, layer: Layer) -> Iterator[BinaryIO]:
        digest = layer.descriptor.digest
        path = layer.descriptor.location or (self.blobs.blob_path(digest) if digest else "")
        if not self.blobs.exists(path):
            raise AppError("bad-image", f"{self.where} lacks the blob of a layer ({path})")
        with self.blobs.open(path) as stream:
            yield stream  # type: ignore[misc]

    def close(self) -> None:
        if isinstance(self.blobs, _TarBlobs):
            self.blobs.close()


class DockerArchiveSource(LayoutSource):
    """A ``docker save`` tarball: the OCI layout inside it when there is one,
    else the legacy ``manifest.json`` shape."""

    def __init__(self, path: Path, location: str, ref: str | None = None) -> None:
        blobs = _TarBlobs(path)
        super().__init__(blobs, str(path), "docker-archive", location, ref)
        self.tar_blobs = blobs

    def resolve(self, platform: Platform | None) -> ResolvedImage:
        if self.blobs.exists("oci-layout") and self.blobs.exists("index.json"):
            return super().resolve(platform)
        if not self.blobs.exists("manifest.json"):
            raise AppError(
                "bad-source",
                f"{self.where} is neither a docker save tarball (no manifest.json) "
                "nor an OCI image layout",
            )
        return self._resolve_legacy(platform)

    def _resolve_legacy(self, platform: Platform | None) -> ResolvedImage:
        raw = self.blobs.read("manifest.json", "manifest.json")
        try:
            entries = json.loads(raw)
        except ValueError as exc:
            raise AppError("bad-image", f"{self.where}: manifest.json is not JSON: {exc}") from None
        if not isinstance(entries, list) or not entries:
            raise AppError("not-found", f"{self.where} holds no image (manifest.json is empty)")
        entry = self._pick_legacy(entries)
        config_path = entry.get("Config")
        if not isinstance(config_path, str) or not self.blobs.exists(config_path):
            raise AppError("bad-image", f"{self.where}: manifest.json names no readable Config")
        config_bytes = self.blobs.read(config_path, "image config")
        digest = sha256_digest(config_bytes)
        # The legacy layout names the config after its own sha256: check it.
        stem = re.search(r"([0-9a-f]{64})(?:\.json)?$", config_path)
        if stem and f"sha256:{stem.group(1)}" != digest:
            raise AppError(
                "digest-mismatch",
                f"{self.where}: the image config does not match its name {config_path}",
            )
        config = parse_json(config_bytes, f"{self.where} image config")
        found = check_platform(config, platform, self.where)
        layer_paths = entry.get("Layers")
        if not isinstance(layer_paths, list) or not all(isinstance(p, str) for p in layer_paths):
            raise AppError("bad-image", f"{self.where}: manifest.json has no Layers list")
        diff_ids = diff_ids_of(config, len(layer_paths), self.where)
        layers = []
        for number, (path, diff_id) in enumerate(zip(layer_paths, diff_ids, strict=True)):
            if not self.blobs.exists(path):
                raise AppError("bad-image", f"{self.where} lacks layer {number + 1} ({path})")
            descriptor = Descriptor(
                media_type="", digest=None, size=self.tar_blobs.size(path), location=path
            )
            layers.append(Layer(descriptor, diff_id, SNIFF))
        name, tag = _name_from_path(self.location), None
        tags = entry.get("RepoTags") or []
        chosen = self.ref if self.ref in tags else (tags[0] if tags else None)
        if chosen:
            try:
                ref = parse_reference(chosen)
                name, tag = ref.name, ref.tag
            except AppError:
                pass
        return ResolvedImage(
            name=name,
            tag=tag,
            digest=digest,
            config=config,
            layers=layers,
            platform=found,
            docker_source=self.docker_source,
            source=self._source(),
        )

    def _pick_legacy(self, entries: list[Any]) -> dict[str, Any]:
        if not all(isinstance(entry, dict) for entry in entries):
            raise AppError("bad-image", f"{self.where}: manifest.json entries must be objects")
        if self.ref is None:
            if len(entries) == 1:
                return entries[0]
            tags = sorted(tag for entry in entries for tag in entry.get("RepoTags") or [])
            raise AppError(
                "not-found",
                f"{self.where} holds {len(entries)} images ({', '.join(tags)}); "
                "name one as docker-archive:PATH:NAME:TAG",
            )
        for entry in entries:
            tags = entry.get("RepoTags") or []
            if self.ref in tags or any(_short(tag) == self.ref for tag in tags):
                return entry
        raise AppError("not-found", f"{self.where} has no image {self.ref!r}")


def _label(entry: Descriptor) -> str:
    return (
        entry.annotations.get(CONTAINERD_NAME)
        or entry.annotations.get(REF_NAME)
        or str(entry.digest)[:19]
    )


def _short(name: str | None) -> str | None:
    """``docker.io/library/alpine:3`` → ``alpine:3``: how people say it."""
    if not name:
        return None
    try:
        ref = parse_reference(name)
    except AppError:
        return None
    return f"{ref.name}:{ref.tag}" if ref.tag else ref.name


def _name_from_path(location: str) -> str:
    stem = os.path.basename(location.rstrip("/")) or "image"
    for suffix in (".tar.gz", ".tgz", ".tar"):
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    return re.sub(r"[^a-z0-9._-]+", "-", stem.lower()).strip("-._") or "image"


def oci_layout(path: Path, location: str, ref: str | None = None) -> LayoutSource:
    return LayoutSource(_DirBlobs(path), str(path), "oci-layout", location, ref)
