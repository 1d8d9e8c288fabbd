"""Applying image layers, in order, into one root filesystem tree.

The tree is kept as an index (path → :class:`Node`: kind, mode, owner,
link target, device numbers) with each regular file's bytes in a numbered
file of a scratch directory. Nothing is extracted onto the real filesystem
with the image's names, modes or owners, so

* no path from a layer can reach outside the scratch directory: member
  names that are absolute or contain ``..`` are refused, and a path that
  runs through a symbolic link is resolved inside the image's root (as a
  chroot would: ``..`` stops at the root, an absolute target starts there);
* ownership, setuid bits, device nodes and FIFOs survive without root
  privileges, and :mod:`trail.apps.squashfs` writes them from the index.

Whiteouts follow the OCI image spec: ``.wh.<name>`` hides ``<name>`` from
lower layers, ``.wh..wh..opq`` hides everything the lower layers had in its
directory; neither hides what the same layer adds.

A layer is read as a stream: the compressed bytes are hashed (checked
against the layer's digest and size) and, after decompression, the tar
bytes are hashed again (checked against the config's diff_id). Memory stays
flat in the size of the files; it grows with their number (one index entry
each).
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import shutil
import tarfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import zstandard

from trail.apps.errors import AppError
from trail.apps.progress import NullReporter, Reporter, Task
from trail.apps.sources.base import SNIFF, Layer

DIR, FILE, SYMLINK, CHAR, BLOCK, FIFO = "dir", "file", "symlink", "char", "block", "fifo"
WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"
#: More links than this on one path is a loop (Linux's own limit is 40).
MAX_LINK_HOPS = 40
CHUNK = 1024 * 1024

_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_CORRUPT = (tarfile.TarError, EOFError, zlib.error, zstandard.ZstdError, gzip.BadGzipFile)


@dataclass(slots=True)
class Node:
    """One entry of the tree. ``blob`` numbers a regular file's bytes; hard
    links share it."""

    kind: str
    mode: int
    uid: int
    gid: int
    blob: int | None = None
    size: int = 0
    link: str = ""
    major: int = 0
    minor: int = 0


def _join(parts: list[str]) -> str:
    return "/".join(parts)


class RootFS:
    """The tree that the layers of one image build up, under ``workdir``."""

    def __init__(self, workdir: Path) -> None:
        self.store = workdir / "files"
        self.store.mkdir(parents=True, exist_ok=True)
        self.nodes: dict[str, Node] = {"": Node(DIR, 0o755, 0, 0)}
        self.children: dict[str, set[str]] = {"": set()}
        self.refs: dict[int, int] = {}
        self._next_blob = 0
        self._created: set[str] = set()
        self._label = ""

    @property
    def root(self) -> Node:
        return self.nodes[""]

    def blob_path(self, blob: int) -> Path:
        return self.store / str(blob)

    # --- applying a layer -----------------------------------------------------

    def apply(
        self,
        stream: BinaryIO,
        layer: Layer,
        label: str,
        reporter: Reporter | None = None,
    ) -> None:
        """Apply one layer read from ``stream`` (the blob as stored).

        Raises :class:`AppError` (``digest-mismatch``, ``bad-layer``) when the
        blob is not the one the manifest names or cannot be applied safely.
        The tree is then unusable: the caller throws the build away.
        """
        reporter = reporter or NullReporter()
        descriptor = layer.descriptor
        self._label = label
        self._created = set()
        with reporter.task(label, descriptor.size) as task:
            raw = _HashingReader(stream, task)
            try:
                tar_stream = _HashingReader(_decompress(raw, layer.compression))
                with tarfile.open(fileobj=tar_stream, mode="r|") as tar:
                    while (member := tar.next()) is not None:
                        self._apply_member(member, tar)
                        # A streamed TarFile keeps every member it has seen;
                        # forgetting them keeps memory flat in huge layers.
                        tar.members.clear()
                _drain(tar_stream)
            except _CORRUPT as exc:
                _drain(raw)
                self._check_blob(raw, layer)  # a wrong blob explains a broken tar best
                raise AppError(
                    "bad-layer", f"{label} is not a readable tar archive: {exc}"
                ) from None
            _drain(raw)
        self._check_blob(raw, layer)
        if "sha256:" + tar_stream.hexdigest() != layer.diff_id:
            raise AppError(
                "digest-mismatch",
                f"{label}: its uncompressed content does not match the diff_id {layer.diff_id} "
                f"in the image config (got sha256:{tar_stream.hexdigest()})",
            )

    def _check_blob(self, raw: _HashingReader, layer: Layer) -> None:
        descriptor = layer.descriptor
        named = f"{self._label} ({descriptor.digest})" if descriptor.digest else self._label
        if descriptor.size is not None and raw.size != descriptor.size:
            raise AppError(
                "digest-mismatch",
                f"{named} is {raw.size} bytes, but the manifest says {descriptor.size}",
            )
        if descriptor.digest is not None and "sha256:" + raw.hexdigest() != descriptor.digest:
            raise AppError(
                "digest-mismatch",
                f"{named} does not match its digest (got sha256:{raw.hexdigest()})",
            )

    def _apply_member(self, member: tarfile.TarInfo, tar: tarfile.TarFile) -> None:
        parts = self._split(member.name, "member")
        if not parts:  # "./": the root directory itself
            if member.isdir():
                self._set_meta(self.root, member)
            return
        *parent_parts, base = parts
        if base.startswith(WHITEOUT):
            # A whiteout removes; it never creates the directory it names.
            parent = self._resolve(parent_parts)
            node = self.nodes.get(_join(parent))
            if node is not None and node.kind == DIR:
                self._whiteout(parent, base)
            return
        parent = self._directory(parent_parts)
        path = _join([*parent, base])
        existing = self.nodes.get(path)
        if member.isdir():
            if existing is not None and existing.kind == DIR:
                self._set_meta(existing, member)
            else:
                self._remove(path)
                self._add(path, self._set_meta(Node(DIR, 0, 0, 0), member))
        elif member.islnk():
            self._hardlink(path, member)
        else:
            node = self._leaf(member, tar)
            self._remove(path)
            self._add(path, node)
        self._created.add(path)

    def _leaf(self, member: tarfile.TarInfo, tar: tarfile.TarFile) -> Node:
        if member.isreg():
            blob = self._new_blob()
            source = tar.extractfile(member)
            assert source is not None
            with self.blob_path(blob).open("wb") as out:
                shutil.copyfileobj(source, out, CHUNK)
            node = Node(FILE, 0, 0, 0, blob=blob, size=member.size)
        elif member.issym():
            node = Node(SYMLINK, 0, 0, 0, link=member.linkname)
        elif member.ischr() or member.isblk():
            kind = CHAR if member.ischr() else BLOCK
            node = Node(kind, 0, 0, 0, major=member.devmajor, minor=member.devminor)
        elif member.isfifo():
            node = Node(FIFO, 0, 0, 0)
        else:
            raise AppError(
                "bad-layer",
                f"{self._label}: {member.name!r} has tar type {member.type!r}, "
                "which a root filesystem cannot hold",
            )
        return self._set_meta(node, member)

    def _hardlink(self, path: str, member: tarfile.TarInfo) -> None:
        target_parts = self._split(member.linkname, "hard link target")
        if not target_parts:
            raise AppError("bad-layer", f"{self._label}: {member.name!r} links to the root")
        target = _join([*self._resolve(target_parts[:-1]), target_parts[-1]])
        node = self.nodes.get(target)
        if node is None or node.kind == DIR:
            raise AppError(
                "bad-layer",
                f"{self._label}: {member.name!r} is a hard link to {member.linkname!r}, "
                "which is not a file of the image",
            )
        if target == path:
            return
        self._remove(path)
        copy = dataclasses.replace(node)
        if copy.blob is not None:
            self.refs[copy.blob] += 1
        self._add(path, copy)

    def _whiteout(self, parent: list[str], base: str) -> None:
        directory = _join(parent)
        if base == OPAQUE:
            self._clear_lower(directory)
            return
        if base.startswith(WHITEOUT + WHITEOUT):
            return  # other .wh..wh.* names are aufs bookkeeping, not whiteouts
        name = base[len(WHITEOUT) :]
        if name in ("", ".", ".."):
            raise AppError("bad-layer", f"{self._label}: bad whiteout {base!r}")
        path = _join([*parent, name])
        if path not in self._created:
            self._remove(path)

    def _clear_lower(self, directory: str) -> None:
        """Remove what lower layers put under ``directory``, keeping this layer's."""
        pending = [directory]
        while pending:
            current = pending.pop()
            for name in sorted(self.children.get(current, ())):
                path = f"{current}/{name}" if current else name
                if path not in self._created:
                    self._remove(path)
                elif self.nodes[path].kind == DIR:
                    pending.append(path)

    # --- paths ---------------------------------------------------------------

    def _split(self, name: str, what: str) -> list[str]:
        """The components of an archive path, refusing ones that could escape."""
        if name.startswith("/"):
            raise AppError(
                "bad-layer", f"{self._label}: {what} {name!r} is an absolute path; refusing it"
            )
        parts = [part for part in name.split("/") if part not in ("", ".")]
        if ".." in parts:
            raise AppError(
                "bad-layer", f"{self._label}: {what} {name!r} contains '..'; refusing it"
            )
        return parts

    def _resolve(self, parts: list[str], hops: int = 0) -> list[str]:
        """``parts`` with every symbolic link followed inside the image's root."""
        resolved: list[str] = []
        for part in parts:
            node = self.nodes.get(_join([*resolved, part]))
            if node is None or node.kind != SYMLINK:
                resolved.append(part)
                continue
            hops += 1
            if hops > MAX_LINK_HOPS:
                raise AppError(
                    "bad-layer", f"{self._label}: too many symbolic links in {_join(parts)!r}"
                )
            combined = [] if node.link.startswith("/") else list(resolved)
            for segment in node.link.split("/"):
                if segment == "..":
                    if combined:
                        combined.pop()  # at the root, ".." stays there, as in a chroot
                elif segment not in ("", "."):
                    combined.append(segment)
            resolved = self._resolve(combined, hops)
        return resolved

    def _directory(self, parts: list[str]) -> list[str]:
        """The resolved directory ``parts`` names, created (as root's, 0755)
        where the layer did not say what it is."""
        resolved = self._resolve(parts)
        for end in range(1, len(resolved) + 1):
            path = _join(resolved[:end])
            node = self.nodes.get(path)
            if node is None:
                self._add(path, Node(DIR, 0o755, 0, 0))
                self._created.add(path)
            elif node.kind != DIR:
                raise AppError(
                    "bad-layer",
                    f"{self._label}: {_join(parts)!r} needs {path!r} to be a directory, "
                    f"but it is a {node.kind}",
                )
        return resolved

    # --- the index -------------------------------------------------------------

    def _set_meta(self, node: Node, member: tarfile.TarInfo) -> Node:
        node.mode = member.mode & 0o7777
        node.uid = member.uid
        node.gid = member.gid
        return node

    def _new_blob(self) -> int:
        blob = self._next_blob
        self._next_blob += 1
        self.refs[blob] = 1
        return blob

    def _add(self, path: str, node: Node) -> None:
        parent, _, name = path.rpartition("/")
        self.nodes[path] = node
        self.children[parent].add(name)
        if node.kind == DIR:
            self.children[path] = set()

    def _remove(self, path: str) -> None:
        """Remove ``path`` and everything under it (nothing if it is absent)."""
        if path not in self.nodes:
            return
        parent, _, name = path.rpartition("/")
        self.children[parent].discard(name)
        pending = [path]
        while pending:
            current = pending.pop()
            node = self.nodes.pop(current)
            if node.blob is not None:
                self.refs[node.blob] -= 1
                if not self.refs[node.blob]:
                    del self.refs[node.blob]
                    self.blob_path(node.blob).unlink()
            for child in self.children.pop(current, ()):
                pending.append(f"{current}/{child}")

    def walk(self) -> Iterator[tuple[str, Node]]:
        """Every entry but the root, parents before children, in sorted order."""
        pending = [""]
        while pending:
            current = pending.pop()
            names = sorted(self.children.get(current, ()), reverse=True)
            # Depth first, in order: push in reverse, and yield a directory
            # just before its own children.
            for name in names:
                pending.append(f"{current}/{name}" if current else name)
            if current:
                yield current, self.nodes[current]


class _HashingReader:
    """Reads through ``inner``, hashing and counting (and reporting) the bytes."""

    def __init__(self, inner: BinaryIO, task: Task | None = None) -> None:
        self.inner = inner
        self.task = task
        self.hasher = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        data = self.inner.read(size)
        if data:
            self.hasher.update(data)
            self.size += len(data)
            if self.task is not None:
                self.task.advance(len(data))
        return data

    def readable(self) -> bool:
        return True

    def hexdigest(self) -> str:
        return self.hasher.hexdigest()


class _Prefixed:
    """``head`` (already read to sniff the format), then the rest of ``inner``."""

    def __init__(self, head: bytes, inner: BinaryIO) -> None:
        self.head = head
        self.inner = inner

    def read(self, size: int = -1) -> bytes:
        if self.head:
            if size < 0:
                data, self.head = self.head + self.inner.read(), b""
                return data
            data, self.head = self.head[:size], self.head[size:]
            return data
        return self.inner.read(size)

    def readable(self) -> bool:
        return True


def _decompress(raw: BinaryIO, compression: str | None) -> BinaryIO:
    if compression == SNIFF:
        head = raw.read(4)
        raw = _Prefixed(head, raw)  # type: ignore[assignment]
        compression = (
            "gzip"
            if head.startswith(_GZIP_MAGIC)
            else "zstd"
            if head.startswith(_ZSTD_MAGIC)
            else None
        )
    if compression == "gzip":
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    if compression == "zstd":
        return zstandard.ZstdDecompressor().stream_reader(  # type: ignore[return-value]
            raw, read_across_frames=True, closefd=False
        )
    return raw


def _drain(stream: BinaryIO | _HashingReader) -> None:
    while stream.read(CHUNK):
        pass
