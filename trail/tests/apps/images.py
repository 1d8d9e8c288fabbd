"""Small container images made in Python, for the ``trail app`` tests.

:func:`make_image` builds layers (tar, optionally gzip or zstd), a config
and a manifest; :func:`write_oci_layout`, :func:`write_docker_save` and
:func:`push` put them where ``trail app add --from`` reads images.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
import subprocess
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import zstandard

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER_MEDIA = {
    None: "application/vnd.oci.image.layer.v1.tar",
    "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
    "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
}


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


# --- layer entries ------------------------------------------------------------------


def _info(name: str, kind: bytes, mode: int, uid: int = 0, gid: int = 0) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.uid = uid
    info.gid = gid
    info.mtime = 1_700_000_000  # timestamps must not reach the squashfs
    return info


def d(name: str, mode: int = 0o755, uid: int = 0, gid: int = 0) -> tuple:
    return (_info(name, tarfile.DIRTYPE, mode, uid, gid), None)


def f(name: str, data: bytes | str, mode: int = 0o644, uid: int = 0, gid: int = 0) -> tuple:
    data = data.encode() if isinstance(data, str) else data
    info = _info(name, tarfile.REGTYPE, mode, uid, gid)
    info.size = len(data)
    return (info, data)


def symlink(name: str, target: str) -> tuple:
    info = _info(name, tarfile.SYMTYPE, 0o777)
    info.linkname = target
    return (info, None)


def hardlink(name: str, target: str) -> tuple:
    info = _info(name, tarfile.LNKTYPE, 0o644)
    info.linkname = target
    return (info, None)


def char(name: str, major: int, minor: int, mode: int = 0o666) -> tuple:
    info = _info(name, tarfile.CHRTYPE, mode)
    info.devmajor, info.devminor = major, minor
    return (info, None)


def whiteout(directory: str, name: str) -> tuple:
    return f(f"{directory}/.wh.{name}" if directory else f".wh.{name}", b"")


def opaque(directory: str) -> tuple:
    return f(f"{directory}/.wh..wh..opq", b"")


def tar_bytes(entries: list[tuple]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in entries:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return out.getvalue()


def compress(data: bytes, compression: str | None) -> bytes:
    if compression == "gzip":
        return gzip.compress(data, compresslevel=1, mtime=0)
    if compression == "zstd":
        return zstandard.ZstdCompressor(level=1).compress(data)
    return data


# --- images ---------------------------------------------------------------------------


@dataclass
class Image:
    """One image's blobs, by digest, and the digests that tie them together."""

    manifest: bytes
    config: bytes
    layers: list[tuple[str, bytes]]  # (media type, blob)
    blobs: dict[str, bytes] = field(default_factory=dict)

    @property
    def digest(self) -> str:
        return digest(self.manifest)

    @property
    def manifest_json(self) -> dict[str, Any]:
        return json.loads(self.manifest)


def make_image(
    layers: list[list[tuple]],
    *,
    compression: str | None = "gzip",
    config: dict[str, Any] | None = None,
    architecture: str = "amd64",
    variant: str | None = None,
    os_name: str = "linux",
    layer_media_type: str | None = None,
) -> Image:
    """An OCI image of ``layers`` (lists of entries made by ``f``, ``d``, …)."""
    tars = [tar_bytes(entries) for entries in layers]
    blobs = [compress(data, compression) for data in tars]
    media = layer_media_type or LAYER_MEDIA[compression]
    image_config: dict[str, Any] = {
        "architecture": architecture,
        "os": os_name,
        "config": config if config is not None else {"Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": [digest(t) for t in tars]},
    }
    if variant:
        image_config["variant"] = variant
    config_bytes = json.dumps(image_config, sort_keys=True).encode()
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": OCI_CONFIG,
            "digest": digest(config_bytes),
            "size": len(config_bytes),
        },
        "layers": [{"mediaType": media, "digest": digest(b), "size": len(b)} for b in blobs],
    }
    manifest_bytes = json.dumps(manifest, sort_keys=True).encode()
    image = Image(manifest_bytes, config_bytes, [(media, b) for b in blobs])
    image.blobs = {digest(config_bytes): config_bytes, digest(manifest_bytes): manifest_bytes}
    image.blobs.update({digest(b): b for b in blobs})
    return image


@dataclass
class Index:
    """An image index over images for several platforms."""

    manifest: bytes
    images: list[Image]

    @property
    def digest(self) -> str:
        return digest(self.manifest)

    @property
    def blobs(self) -> dict[str, bytes]:
        blobs = {self.digest: self.manifest}
        for image in self.images:
            blobs.update(image.blobs)
        return blobs


def make_index(*images: Image) -> Index:
    """An image index over ``images`` (each with its config's platform)."""
    manifests = []
    for image in images:
        config = json.loads(image.config)
        platform = {"architecture": config["architecture"], "os": config["os"]}
        if config.get("variant"):
            platform["variant"] = config["variant"]
        manifests.append(
            {
                "mediaType": OCI_MANIFEST,
                "digest": image.digest,
                "size": len(image.manifest),
                "platform": platform,
            }
        )
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}
    return Index(json.dumps(index).encode(), list(images))


def write_oci_layout(
    path: Path,
    image: Image | None = None,
    ref: str | None = None,
    *,
    index: Index | None = None,
    annotations: dict[str, str] | None = None,
) -> Path:
    """An OCI image layout directory holding ``image`` (or an ``index``)."""
    blobs_dir = path / "blobs" / "sha256"
    blobs_dir.mkdir(parents=True, exist_ok=True)
    (path / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    if index is not None:
        blobs = index.blobs
        entry = {"mediaType": OCI_INDEX, "digest": index.digest, "size": len(index.manifest)}
    else:
        assert image is not None
        blobs = image.blobs
        entry = {"mediaType": OCI_MANIFEST, "digest": image.digest, "size": len(image.manifest)}
    entry_annotations = dict(annotations or {})
    if ref:
        entry_annotations["org.opencontainers.image.ref.name"] = ref
    if entry_annotations:
        entry["annotations"] = entry_annotations
    for blob_digest, data in blobs.items():
        (blobs_dir / blob_digest.removeprefix("sha256:")).write_bytes(data)
    index_path = path / "index.json"
    existing = json.loads(index_path.read_text()) if index_path.exists() else None
    manifests = (existing or {}).get("manifests", []) + [entry]
    index_path.write_text(json.dumps({"schemaVersion": 2, "manifests": manifests}))
    return path


def write_docker_save(path: Path, image: Image, repo_tag: str | None) -> Path:
    """A legacy ``docker save`` tarball: manifest.json, <id>.json, <n>/layer.tar."""
    config_hex = digest(image.config).removeprefix("sha256:")
    members: dict[str, bytes] = {f"{config_hex}.json": image.config}
    layer_paths = []
    for number, (_, blob) in enumerate(image.layers):
        raw = gzip.decompress(blob) if blob[:2] == b"\x1f\x8b" else blob
        name = f"{number:064x}/layer.tar"
        members[name] = raw
        layer_paths.append(name)
    manifest = [
        {
            "Config": f"{config_hex}.json",
            "RepoTags": [repo_tag] if repo_tag else None,
            "Layers": layer_paths,
        }
    ]
    members["manifest.json"] = json.dumps(manifest).encode()
    with tarfile.open(path, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


# --- a registry -------------------------------------------------------------------------


def push(
    base_url: str,
    repository: str,
    tag: str,
    image: Image | Index,
    *,
    headers: dict[str, str] | None = None,
) -> str:
    """Push ``image`` (or an index and its images) with the distribution
    API's monolithic uploads; return the digest ``tag`` then names."""
    images = image.images if isinstance(image, Index) else [image]
    url = f"{base_url}/v2/{repository}"
    with httpx.Client(base_url=url, headers=headers or {}, timeout=60) as http:
        for one in images:
            for blob_digest, data in one.blobs.items():
                if blob_digest != one.digest:
                    _upload(http, blob_digest, data)
            response = http.put(
                f"/manifests/{one.digest}",
                content=one.manifest,
                headers={"Content-Type": OCI_MANIFEST},
            )
            assert response.status_code == 201, response.text
        media = OCI_INDEX if isinstance(image, Index) else OCI_MANIFEST
        response = http.put(
            f"/manifests/{tag}", content=image.manifest, headers={"Content-Type": media}
        )
        assert response.status_code == 201, response.text
    return image.digest


def _upload(http: httpx.Client, blob_digest: str, data: bytes) -> None:
    if http.head(f"/blobs/{blob_digest}").status_code == 200:
        return
    start = http.post("/blobs/uploads/")
    assert start.status_code == 202, start.text
    # The upload URL carries its own state in its query: add to it, never replace it.
    location = httpx.URL(start.headers["location"]).copy_merge_params({"digest": blob_digest})
    done = http.put(
        location,
        content=data,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert done.status_code == 201, done.text


# --- the image most tests use -----------------------------------------------------------

DEMO_CONFIG = {
    "Entrypoint": ["/usr/bin/tool"],
    "Cmd": ["--serve", "a b"],
    "Env": ["PATH=/usr/bin:/bin", "GREETING=hello world"],
    "WorkingDir": "/app",
    "Volumes": {"/data": {}},
    "ExposedPorts": {"8080/tcp": {}},
}


def demo_layers(hostname: str = "demo2\n") -> list[list[tuple]]:
    """Two layers: files, a setuid binary, a hard link, a symlinked directory,
    a device node, a file owned by uid 1000; then a deleted file, an opaque
    directory, a changed file and a file written through the symlink."""
    first = [
        d("etc"),
        f("etc/hostname", "demo\n"),
        d("usr"),
        d("usr/bin"),
        f("usr/bin/tool", "#!/bin/sh\necho tool\n", mode=0o4755),
        hardlink("usr/bin/tool2", "usr/bin/tool"),
        symlink("bin", "usr/bin"),
        d("app"),
        f("app/keep.txt", "keep"),
        f("app/gone.txt", "gone"),
        d("data"),
        d("data/old"),
        f("data/old/a.txt", "a"),
        d("data/old/sub"),
        f("data/old/sub/deep.txt", "deep"),
        d("home"),
        d("home/user", mode=0o700, uid=1000, gid=1000),
        f("home/user/.profile", "export X=1\n", uid=1000, gid=1000),
        d("dev"),
        char("dev/null", 1, 3),
    ]
    second = [
        d("app"),
        whiteout("app", "gone.txt"),
        d("data/old"),
        opaque("data/old"),
        f("data/old/new.txt", "new"),
        f("etc/hostname", hostname),
        f("etc/motd", "hi"),
        f("bin/via-link", "x"),
    ]
    return [first, second]


def demo_image(compression: str | None = "gzip", **kwargs) -> Image:
    return make_image(demo_layers(**kwargs), compression=compression, config=DEMO_CONFIG)


def listing(squashfs: Path) -> dict[str, str]:
    """``unsquashfs -lln``: path → the line's attributes (mode, uid/gid, link)."""
    out = subprocess.run(
        ["unsquashfs", "-lln", str(squashfs)], check=True, capture_output=True, text=True
    ).stdout
    entries = {}
    for line in out.splitlines():
        match = _LISTED.match(line)
        if match:
            mode, owner, rest = match.groups()
            path, _, target = rest.partition(" -> ")
            path = path.removeprefix("squashfs-root").lstrip("/")
            entries[path] = f"{mode} {owner}" + (f" -> {target}" if target else "")
    return entries


# "mode uid/gid size-or-major,minor date time path[ -> target]"
_LISTED = re.compile(r"(\S+) (\S+)\s+(?:\d+,\s*\d+|\d+) \d{4}-\d\d-\d\d \d\d:\d\d (.*)")


def cat(squashfs: Path, path: str) -> bytes:
    return subprocess.run(
        ["unsquashfs", "-cat", str(squashfs), path], check=True, capture_output=True
    ).stdout
