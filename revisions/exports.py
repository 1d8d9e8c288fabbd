"""A revision as a ``.tar.gz`` of ``json`` (its state) and ``objects/<sha>``, streamed.

The tarball is written by hand (512-byte ustar headers, padded data, two
zero blocks) through one gzip compressor, a chunk at a time, so memory stays
at one chunk plus zlib's window however large the objects are. ``json`` is
the state's canonical JSON: its sha256 is the revision's state-sha.
"""

from __future__ import annotations

import functools
import tarfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass
from io import BytesIO
from typing import BinaryIO

from revisions.models import Blob, Step, StepObject
from revisions.storage import base as storage_base
from revisions.storage import get_store
from trail.state import canonical_json, required_shas

BLOCK = tarfile.BLOCKSIZE
RECORD = tarfile.RECORDSIZE


@dataclass(frozen=True)
class Member:
    name: str
    size: int
    mtime: int
    open: Callable[[], BinaryIO]


def _header(member: Member) -> bytes:
    info = tarfile.TarInfo(member.name)
    info.size = member.size
    info.mtime = member.mtime
    info.mode = 0o644
    return info.tobuf(tarfile.USTAR_FORMAT, "utf-8", "strict")


def tarball(members: Iterable[Member]) -> Iterator[bytes]:
    """Yield the gzip-compressed tar of ``members``, reading each in chunks."""
    gz = zlib.compressobj(6, zlib.DEFLATED, 31)  # wbits 31: a gzip stream
    written = 0
    for member in members:
        data = gz.compress(_header(member))
        if data:
            yield data
        remaining = member.size
        with closing(member.open()) as source:
            while remaining:
                chunk = source.read(min(storage_base.CHUNK_SIZE, remaining))
                if not chunk:
                    raise OSError(f"{member.name} ended {remaining} bytes early")
                remaining -= len(chunk)
                data = gz.compress(chunk)
                if data:
                    yield data
        padding = -member.size % BLOCK
        written += BLOCK + member.size + padding
        data = gz.compress(b"\0" * padding)
        if data:
            yield data
    end = 2 * BLOCK
    end += -(written + end) % RECORD
    yield gz.compress(b"\0" * end) + gz.flush()


def _exportable_blobs(step: Step):
    """The stored bytes of the objects ``step``'s owner holds (naming a sha grants nothing)."""
    held = StepObject.objects.held().filter(step=step).values("sha256")
    return Blob.objects.filter(sha256__in=held)


def missing_blobs(step: Step) -> list[str]:
    """The shas of ``step`` that cannot be exported: not stored, or not held by its
    owner (the export would be incomplete)."""
    shas = required_shas(step.state)
    stored = set(_exportable_blobs(step).values_list("sha256", flat=True))
    return sorted(shas - stored)


def export_members(step: Step) -> list[Member]:
    """``json`` and every object of ``step``, ready for :func:`tarball`."""
    store = get_store()
    mtime = int(step.time_created.timestamp())
    state = canonical_json(step.state)
    members = [Member("json", len(state), mtime, lambda: BytesIO(state))]
    blobs = _exportable_blobs(step).order_by("sha256")
    for blob in blobs:
        members.append(
            Member(
                f"objects/{blob.sha256}",
                blob.size,
                mtime,
                functools.partial(store.open, blob.sha256),
            )
        )
    return members
