"""The reproducible ``root.squashfs`` of a tree of applied layers.

The tree (:class:`trail.apps.layers.RootFS`) is written as one tar stream,
entries in sorted order, into ``mksquashfs - IMAGE -tar`` (squashfs-tools
reads a tar on stdin). The same image therefore always gives the same bytes:

* ``-mkfs-time 0 -all-time 0``: no timestamps, neither the image's nor ours;
* ``-reproducible`` (the default, said anyway): output independent of
  thread scheduling;
* entries in sorted order, with hard links pointing at the first path of
  each set, so the input itself is always the same stream;
* owners and modes are the image's own (uid/gid numbers as the layers say,
  setuid bits included), not those of whoever runs ``trail`` — which is why
  the tree is kept as an index and never extracted: no root privileges are
  needed to get owners and device nodes right. ``-all-root`` is not used
  because services that drop privileges need their files' owners;
* ``-no-xattrs``: extended attributes (file capabilities) are not carried,
  the same as pvr, which extracts layers with plain ``tar``;
* ``-comp zstd`` with squashfs-tools' default block size.

The root directory's mode comes from the image's ``./`` entry when a layer
has one (``-root-mode``), else 0755. Its owner is always root: with ``-tar``,
squashfs-tools 4.5 takes no owner for the root (``-root-uid`` is ignored),
and images with a root directory not owned by root are not seen in practice.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import BinaryIO

from trail.apps.errors import AppError
from trail.apps.layers import BLOCK, CHAR, DIR, FIFO, FILE, SYMLINK, RootFS

OPTIONS = (
    "-comp",
    "zstd",
    "-noappend",
    "-reproducible",
    "-mkfs-time",
    "0",
    "-all-time",
    "0",
    "-no-xattrs",
    "-no-progress",
    "-quiet",
)
_TYPES = {
    DIR: tarfile.DIRTYPE,
    SYMLINK: tarfile.SYMTYPE,
    CHAR: tarfile.CHRTYPE,
    BLOCK: tarfile.BLKTYPE,
    FIFO: tarfile.FIFOTYPE,
}


def mksquashfs() -> str:
    """The path of ``mksquashfs``, or an error saying how to get it."""
    found = shutil.which("mksquashfs")
    if not found:
        raise AppError(
            "mksquashfs",
            "mksquashfs is not installed; install squashfs-tools (apt-get install squashfs-tools)",
        )
    return found


def build(rootfs: RootFS, image: Path) -> None:
    """Write ``rootfs`` as the squashfs file ``image`` (replacing it)."""
    root = rootfs.root
    args = [
        mksquashfs(),
        "-",
        str(image),
        "-tar",
        *OPTIONS,
        "-root-mode",
        f"{root.mode:o}",
    ]
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=log, stderr=log)
        assert process.stdin is not None
        try:
            write_tar(rootfs, process.stdin)
        except BrokenPipeError:
            pass  # mksquashfs stopped reading: its exit status and log say why
        finally:
            # Always end its input, or a failure here would leave it waiting forever.
            with contextlib.suppress(BrokenPipeError):
                process.stdin.close()
            code = process.wait()
        if code != 0:
            log.seek(0)
            output = log.read().decode("utf-8", "replace").strip()
            raise AppError("mksquashfs", f"mksquashfs failed (exit {code}): {output[-2000:]}")


def write_tar(rootfs: RootFS, stream: BinaryIO) -> None:
    """The tree as a tar stream, in the order and with the metadata that make
    the squashfs reproducible."""
    first_path: dict[int, str] = {}
    with tarfile.open(fileobj=stream, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        for path, node in rootfs.walk():
            info = tarfile.TarInfo(path)
            info.mode = node.mode
            info.uid = node.uid
            info.gid = node.gid
            info.mtime = 0
            if node.kind == FILE:
                assert node.blob is not None
                if node.blob in first_path:
                    info.type = tarfile.LNKTYPE
                    info.linkname = first_path[node.blob]
                    tar.addfile(info)
                    continue
                first_path[node.blob] = path
                info.type = tarfile.REGTYPE
                info.size = node.size
                with rootfs.blob_path(node.blob).open("rb") as content:
                    tar.addfile(info, content)
                continue
            info.type = _TYPES[node.kind]
            if node.kind == SYMLINK:
                info.linkname = node.link
            elif node.kind in (CHAR, BLOCK):
                info.devmajor = node.major
                info.devminor = node.minor
            tar.addfile(info)
