"""What every image source shares: media types, descriptors, platform choice,
and the walk from a manifest (or an index of them) to a config and layers.

A source only has to fetch small documents by descriptor (verified against
their digest) and open layer blobs as streams; :func:`resolve_manifest` does
the rest, so the OCI layout, the ``docker save`` tarball and the registry
agree on what is supported and on the error messages.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from trail.apps.errors import AppError
from trail.apps.reference import DIGEST

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_SCHEMA1 = (
    "application/vnd.docker.distribution.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
)

INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_LIST})
MANIFEST_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
CONFIG_TYPES = frozenset({OCI_CONFIG, DOCKER_CONFIG})
#: Layer media types and their compression; ``sniff`` looks at the first bytes.
LAYER_TYPES: dict[str, str | None] = {
    "application/vnd.oci.image.layer.v1.tar": None,
    "application/vnd.oci.image.layer.v1.tar+gzip": "gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd": "zstd",
    "application/vnd.docker.image.rootfs.diff.tar": None,
    "application/vnd.docker.image.rootfs.diff.tar.gzip": "gzip",
}
SNIFF = "sniff"

#: Manifests, indexes and configs are small; a bigger one is refused rather
#: than read into memory.
MAX_DOCUMENT = 4 * 1024 * 1024

# What people and tools call the same architectures.
_ARCH_ALIASES = {"x86_64": "amd64", "x86-64": "amd64", "aarch64": "arm64", "armhf": "arm"}


@dataclass(frozen=True)
class Platform:
    """``os/architecture[/variant]``, as in ``--platform linux/arm/v7``."""

    os: str
    architecture: str
    variant: str | None = None

    @classmethod
    def parse(cls, text: str) -> Platform:
        parts = text.strip().lower().split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise AppError(
                "bad-source",
                f"{text!r} is not a platform; write os/arch[/variant], e.g. linux/arm64",
            )
        arch = _ARCH_ALIASES.get(parts[1], parts[1])
        return cls(parts[0], arch, parts[2] if len(parts) == 3 else None)

    @classmethod
    def of(cls, described: dict[str, Any]) -> Platform:
        """The platform of an index entry or an image config."""
        arch = str(described.get("architecture") or "unknown")
        variant = described.get("variant") or None
        return cls(str(described.get("os") or "unknown"), _ARCH_ALIASES.get(arch, arch), variant)

    def matches(self, wanted: Platform) -> bool:
        """Whether an image for ``self`` serves ``wanted`` (no variant asked: any)."""
        if (self.os, self.architecture) != (wanted.os, wanted.architecture):
            return False
        if wanted.variant is None:
            return True
        mine = self.variant or ("v8" if self.architecture == "arm64" else None)
        return mine == wanted.variant

    @property
    def unknown(self) -> bool:
        # Build attestations sit in indexes as "unknown/unknown" manifests.
        return self.os == "unknown" or self.architecture == "unknown"

    def __str__(self) -> str:
        text = f"{self.os}/{self.architecture}"
        return f"{text}/{self.variant}" if self.variant else text


@dataclass(frozen=True)
class Descriptor:
    """A pointer to a blob: media type, ``sha256:…`` digest and size.

    ``digest`` is None only for legacy ``docker save`` layers, which are
    checked against the config's diff_ids instead; ``location`` is where such
    a source keeps the blob.
    """

    media_type: str
    digest: str | None
    size: int | None
    platform: dict[str, Any] | None = None
    annotations: dict[str, str] = field(default_factory=dict)
    location: str | None = None

    @classmethod
    def of(cls, data: Any, where: str) -> Descriptor:
        if not isinstance(data, dict):
            raise AppError("bad-image", f"{where}: a descriptor must be a JSON object")
        digest = data.get("digest")
        if not isinstance(digest, str) or not DIGEST.fullmatch(digest):
            raise AppError(
                "unsupported-media-type" if isinstance(digest, str) else "bad-image",
                f"{where}: digest {digest!r} is not a sha256 digest (only sha256 is supported)",
            )
        size = data.get("size")
        if size is not None and (not isinstance(size, int) or size < 0):
            raise AppError("bad-image", f"{where}: size {size!r} is not a byte count")
        return cls(
            media_type=str(data.get("mediaType") or ""),
            digest=digest,
            size=size,
            platform=data.get("platform") if isinstance(data.get("platform"), dict) else None,
            annotations=data.get("annotations") or {},
        )


@dataclass(frozen=True)
class Layer:
    """One layer to apply: its blob, the sha256 of its uncompressed tar
    (``diff_id``, from the config) and how it is compressed."""

    descriptor: Descriptor
    diff_id: str
    compression: str | None


@dataclass
class ResolvedImage:
    """Everything needed to build a platform, before any layer is read."""

    name: str
    tag: str | None
    #: ``sha256:…`` of the image manifest (of the image config for a legacy
    #: ``docker save`` tarball, which carries no manifest).
    digest: str
    config: dict[str, Any]
    layers: list[Layer]
    platform: Platform
    #: ``remote`` (a registry) or ``local`` (a file), as pvr writes it.
    docker_source: str
    #: How to find the image again (kept in src.json for ``trail app update``).
    source: dict[str, Any]

    @property
    def digest_ref(self) -> str:
        return f"{self.name}@{self.digest}"

    @property
    def container_config(self) -> dict[str, Any]:
        config = self.config.get("config")
        return config if isinstance(config, dict) else {}


class ImageSource(ABC):
    """A place images come from. Use as a context manager."""

    #: How the source is described to people ("registry 127.0.0.1:5000", a path…).
    where: str

    @abstractmethod
    def resolve(self, platform: Platform | None) -> ResolvedImage:
        """Find the image's manifest, config and layers (small reads only)."""

    @abstractmethod
    def open_layer(self, layer: Layer) -> AbstractContextManager[BinaryIO]:
        """A stream of the layer blob as stored (compressed or not).

        The caller hashes what it reads and checks it against the descriptor
        and the diff_id, so a source may hand out bytes it has not verified.
        """

    def close(self) -> None:  # noqa: B027 - most sources hold nothing open
        """Release files or connections."""

    def __enter__(self) -> ImageSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def check_document(data: bytes, descriptor: Descriptor, what: str) -> bytes:
    """``data`` if it is what ``descriptor`` promises, else :class:`AppError`."""
    if descriptor.size is not None and len(data) != descriptor.size:
        raise AppError(
            "digest-mismatch",
            f"{what} is {len(data)} bytes, but its descriptor says {descriptor.size}",
        )
    if descriptor.digest is not None and sha256_digest(data) != descriptor.digest:
        raise AppError(
            "digest-mismatch",
            f"{what} does not match its digest {descriptor.digest} (got {sha256_digest(data)})",
        )
    return data


def parse_json(data: bytes, what: str) -> dict[str, Any]:
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise AppError("bad-image", f"{what} is not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise AppError("bad-image", f"{what} is not a JSON object")
    return doc


def media_type_of(doc: dict[str, Any], declared: str) -> str:
    """The media type of a manifest or index document.

    OCI allows leaving ``mediaType`` out of both the descriptor and the
    document; then the shape tells (an index lists ``manifests``).
    """
    media_type = declared or str(doc.get("mediaType") or "")
    if media_type:
        return media_type
    if doc.get("schemaVersion") == 1:
        return DOCKER_SCHEMA1[0]
    if isinstance(doc.get("manifests"), list):
        return OCI_INDEX
    if isinstance(doc.get("layers"), list) and isinstance(doc.get("config"), dict):
        return OCI_MANIFEST
    return ""


def choose_manifest(
    index: dict[str, Any], wanted: Platform | None, where: str
) -> tuple[Descriptor, str]:
    """The entry of an image index for ``wanted`` and its platform, as text.

    Without ``wanted``, an index with exactly one real platform is
    unambiguous; otherwise the error lists what there is.
    """
    entries = []
    for number, raw in enumerate(index.get("manifests") or []):
        descriptor = Descriptor.of(raw, f"{where}: manifests[{number}]")
        if descriptor.media_type in DOCKER_SCHEMA1:
            continue
        platform = Platform.of(descriptor.platform or {})
        if not platform.unknown:
            entries.append((descriptor, platform))
    if not entries:
        raise AppError("unsupported-platform", f"{where} lists no image for any platform")
    available = ", ".join(sorted({str(platform) for _, platform in entries}))
    if wanted is None:
        if len(entries) == 1:
            return entries[0][0], str(entries[0][1])
        raise AppError(
            "unsupported-platform",
            f"{where} has images for {available}; choose one with --platform",
        )
    for descriptor, platform in entries:
        if platform.matches(wanted):
            return descriptor, str(platform)
    raise AppError(
        "unsupported-platform", f"{where} has no image for {wanted} (it has {available})"
    )


@dataclass
class Manifest:
    """The outcome of :func:`resolve_manifest`."""

    digest: str
    config: dict[str, Any]
    layers: list[Layer]
    platform: Platform


def resolve_manifest(
    fetch: Callable[[Descriptor, str], bytes],
    top: Descriptor,
    wanted: Platform | None,
    where: str,
) -> Manifest:
    """Walk from ``top`` (an index or a manifest) to the config and layers.

    ``fetch(descriptor, what)`` returns a small document, already checked
    against the descriptor's digest and size.
    """
    descriptor = top
    for _ in range(3):  # an index of indexes is legal; deeper is not seen in practice
        doc = parse_json(fetch(descriptor, f"manifest {descriptor.digest}"), f"{where} manifest")
        media_type = media_type_of(doc, descriptor.media_type)
        if media_type not in INDEX_TYPES:
            break
        descriptor, _ = choose_manifest(doc, wanted, where)
        descriptor = Descriptor(
            media_type=descriptor.media_type, digest=descriptor.digest, size=descriptor.size
        )
    else:
        raise AppError("bad-image", f"{where}: image indexes nested too deeply")
    if media_type in DOCKER_SCHEMA1:
        raise AppError(
            "unsupported-media-type",
            f"{where} is a Docker schema 1 manifest, which is not supported; "
            "push the image again with a current docker, buildah or skopeo",
        )
    if media_type not in MANIFEST_TYPES:
        raise AppError(
            "unsupported-media-type",
            f"{where}: manifest media type {media_type or '(none)'!r} is not supported "
            f"(supported: {', '.join(sorted(MANIFEST_TYPES | INDEX_TYPES))})",
        )
    assert descriptor.digest is not None
    config_descriptor = Descriptor.of(doc.get("config"), f"{where}: config")
    if config_descriptor.media_type not in CONFIG_TYPES:
        raise AppError(
            "unsupported-media-type",
            f"{where} is not a container image: its config has media type "
            f"{config_descriptor.media_type!r}",
        )
    config = parse_json(fetch(config_descriptor, "image config"), f"{where} image config")
    platform = check_platform(config, wanted, where)
    return Manifest(
        digest=descriptor.digest,
        config=config,
        layers=layers_of(doc.get("layers"), config, where),
        platform=platform,
    )


def check_platform(config: dict[str, Any], wanted: Platform | None, where: str) -> Platform:
    """The image's platform, refused unless it is Linux (and ``wanted``)."""
    platform = Platform.of(config)
    if platform.os != "linux":
        raise AppError(
            "unsupported-platform",
            f"{where} is an image for {platform}; only Linux images can become platforms",
        )
    if wanted is not None and not platform.matches(wanted):
        raise AppError(
            "unsupported-platform", f"{where} is an image for {platform}, not for {wanted}"
        )
    return platform


def diff_ids_of(config: dict[str, Any], count: int, where: str) -> list[str]:
    rootfs = config.get("rootfs")
    diff_ids = rootfs.get("diff_ids") if isinstance(rootfs, dict) else None
    if not isinstance(diff_ids, list) or not all(
        isinstance(d, str) and DIGEST.fullmatch(d) for d in diff_ids
    ):
        raise AppError("bad-image", f"{where}: the image config has no valid rootfs.diff_ids")
    if len(diff_ids) != count:
        raise AppError(
            "bad-image",
            f"{where}: the manifest lists {count} layers but the config {len(diff_ids)} diff_ids",
        )
    return diff_ids


def layers_of(raw_layers: Any, config: dict[str, Any], where: str) -> list[Layer]:
    if not isinstance(raw_layers, list):
        raise AppError("bad-image", f"{where}: the manifest has no layers list")
    diff_ids = diff_ids_of(config, len(raw_layers), where)
    layers = []
    for number, (raw, diff_id) in enumerate(zip(raw_layers, diff_ids, strict=True)):
        descriptor = Descriptor.of(raw, f"{where}: layer {number + 1}")
        if descriptor.media_type not in LAYER_TYPES:
            raise AppError(
                "unsupported-media-type",
                f"{where}: layer {number + 1} has media type {descriptor.media_type!r}, "
                f"which is not supported (supported: {', '.join(sorted(LAYER_TYPES))})",
            )
        layers.append(Layer(descriptor, diff_id, LAYER_TYPES[descriptor.media_type]))
    return layers


def read_limited(stream: BinaryIO | Iterator[bytes], what: str) -> bytes:
    """Read a small document, refusing one past :data:`MAX_DOCUMENT`."""
    if hasattr(stream, "read"):
        data = stream.read(MAX_DOCUMENT + 1)  # type: ignore[union-attr]
    else:
        chunks, total = [], 0
        for chunk in stream:  # type: ignore[union-attr]
            chunks.append(chunk)
            total += len(chunk)
            if total > MAX_DOCUMENT:
                break
        data = b"".join(chunks)
    if len(data) > MAX_DOCUMENT:
        raise AppError("bad-image", f"{what} is larger than {MAX_DOCUMENT} bytes")
    return data
