"""Objects on disk and on the wire: a local content-addressed store, and the
downloads and uploads that fill it or empty it into a hub.

* The store keeps ``<root>/<sha>`` files that are verified before they get
  their name; a download in flight is ``<root>/<sha>.part``, so a later run
  resumes it with an HTTP ``Range`` request.
* Every byte that arrives is hashed; an object whose sha256 is not its name
  is refused (:class:`ObjectError`) and never enters the store.
* :func:`transfer_all` runs many transfers at once, each reporting its bytes
  to a :class:`Meter` (progress bars for the CLI, progress reports for the agent).
* The bodies of downloads are read in threads of their own (trail/bodies.py).
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import io
import logging
import os
import re
import shutil
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import httpx

from trail.bodies import fetch
from trail.client import Hub, HubError, error_of
from trail.errors import ChecksumError, ObjectError

log = logging.getLogger("trail.objects")

CHUNK = 256 * 1024
_SHA = re.compile(r"[0-9a-f]{64}")
# What copy_file_range answers where the kernel or filesystem cannot do it.
_NO_COPY_RANGE = frozenset({errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.EBADF})

#: Finds the signed URLs of an object: ``(sha) -> {"signed-geturl", "size", ...}``; asked
#: again for the same sha, it gives URLs signed anew (``GET /objects/<sha>``).
Locator = Callable[[str], Awaitable[dict[str, Any]]]


def copy_file(src: Path, dest: Path) -> None:
    """Copy ``src`` to a new ``dest`` that can be changed without touching ``src``.

    ``copy_file_range`` lets the kernel do it: filesystems that share extents
    (btrfs, XFS) make a reflink, which writes no data at all; the others copy
    in the kernel, without the bytes passing through Python. Where the call is
    refused (an old kernel, some network filesystems), a plain copy.
    """
    try:
        with open(src, "rb") as fsrc, open(dest, "wb") as fdst:
            left = os.fstat(fsrc.fileno()).st_size
            while left > 0:
                copied = os.copy_file_range(fsrc.fileno(), fdst.fileno(), min(left, 1 << 30))
                if copied == 0:
                    break
                left -= copied
            if left == 0:
                return
    except OSError as exc:
        if exc.errno not in _NO_COPY_RANGE:
            raise
    shutil.copyfile(src, dest)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class ObjectStore:
    """Verified objects under one directory, named by their sha256."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, sha: str) -> Path:
        if not _SHA.fullmatch(sha):
            raise ObjectError(f"not an object sha256: {sha!r}")
        return self.root / sha

    def part(self, sha: str) -> Path:
        return self.path(sha).with_suffix(".part")

    def has(self, sha: str) -> bool:
        return self.path(sha).is_file()

    def missing(self, shas: Iterable[str]) -> list[str]:
        return sorted(sha for sha in set(shas) if not self.has(sha))

    def size(self, sha: str) -> int:
        return self.path(sha).stat().st_size

    def add_stream(self, stream: BinaryIO, sha: str | None = None, size: int | None = None) -> str:
        """Store the bytes ``stream`` reads (to its end) as an object; return their sha.

        The one way new bytes enter the store: written to a temporary file in it
        while they are hashed, then :meth:`settle`. With ``sha`` they must hash to
        it and with ``size`` be that many, or nothing is stored
        (:class:`ChecksumError`, :class:`ObjectError`); an object the store already
        holds is not read again.
        """
        if sha is not None and self.has(sha):
            return sha
        self.root.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self.root, prefix=".add-")
        tmp = Path(name)
        digest = hashlib.sha256()
        length = 0
        try:
            with os.fdopen(fd, "wb") as f:
                while chunk := stream.read(CHUNK):
                    digest.update(chunk)
                    f.write(chunk)
                    length += len(chunk)
            if size is not None and length != size:
                raise ObjectError(f"object {sha or digest.hexdigest()}: {length} bytes, not {size}")
            return self.settle(tmp, digest.hexdigest(), sha)
        finally:
            tmp.unlink(missing_ok=True)

    def settle(self, tmp: Path, got: str, sha: str | None = None) -> str:
        """Move ``tmp``, a file in the store whose bytes hash to ``got``, in as object
        ``sha`` (``got`` without one) and return its sha.

        Bytes that are not the object they should be are removed, never stored:
        :class:`ChecksumError`, whose ``got`` says what they are.
        """
        if sha is not None and got != sha:
            tmp.unlink(missing_ok=True)
            raise ChecksumError(f"object {sha} holds other bytes (sha256 {got})", got=got)
        os.replace(tmp, self.path(got))
        return got

    def add_file(self, src: Path, sha: str | None = None) -> str:
        """Copy ``src`` into the store (unless it is there) and return its sha."""
        sha = sha or sha256_file(src)
        with open(src, "rb") as f:
            try:
                return self.add_stream(f, sha)
            except ChecksumError:
                raise ObjectError(f"{src} changed while it was being stored; try again") from None

    def add_bytes(self, data: bytes) -> str:
        return self.add_stream(io.BytesIO(data), hashlib.sha256(data).hexdigest())

    def take_from(self, other: ObjectStore, sha: str) -> None:
        """Bring object ``sha`` over from another store: a hard link when possible
        (stored objects never change), else a copy."""
        if self.has(sha):
            return
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / f".take-{sha}"
        tmp.unlink(missing_ok=True)
        try:
            os.link(other.path(sha), tmp)
        except OSError:
            copy_file(other.path(sha), tmp)
        os.replace(tmp, self.path(sha))

    def copy_to(self, sha: str, dest: Path, link: bool = False) -> None:
        """Write object ``sha`` at ``dest``: a hard link when ``link`` (and the
        filesystem allows it), else a copy that the user may edit freely (a
        reflink where the filesystem can share the bytes)."""
        src = self.path(sha)
        if not src.is_file():
            raise ObjectError(f"object {sha} is not in {self.root}")
        dest.unlink(missing_ok=True)
        if link:
            try:
                os.link(src, dest)
                return
            except OSError:
                pass
        copy_file(src, dest)


# --- progress ---------------------------------------------------------------


class Meter:
    """Told about transfers as they go; the default one stays silent."""

    def start(self, sha: str, name: str, size: int) -> None:
        pass

    def advance(self, sha: str, nbytes: int) -> None:
        pass

    def restart(self, sha: str) -> None:
        """The server ignored a Range: the bytes counted so far are sent again."""

    def finish(self, sha: str) -> None:
        pass


SILENT = Meter()


@dataclass(frozen=True)
class Job:
    """One object to move: its sha, a name to show, and its size when known."""

    sha: str
    name: str
    size: int | None = None


# --- transfers -------------------------------------------------------------


async def download(
    hub: Hub, store: ObjectStore, job: Job, locate: Locator, meter: Meter = SILENT
) -> int:
    """Fetch ``job.sha`` into ``store``, resuming a ``.part`` file; return the
    bytes that came over the wire.

    Raises :class:`ObjectError` when the bytes do not hash to the sha (the
    partial file is removed, so the next try starts clean) and
    :class:`HubError` when the hub cannot be reached or refuses. A signed URL
    the hub refuses (403: it expired before its turn came, say) is asked for
    again once, and the download resumes from the part file with the fresh one.
    """
    if store.has(job.sha):
        return 0
    info = await locate(job.sha)
    url = _geturl(info, job)
    size = _int(info.get("size"), job.size)
    part = store.part(job.sha)
    store.root.mkdir(parents=True, exist_ok=True)
    have, digest = _resume_from(part, size)
    meter.start(job.sha, job.name, size or 0)
    meter.advance(job.sha, have)
    received = 0
    if not have or have != size:  # else the part file holds every byte: only the check is left
        try:
            received, digest = await fetch(hub, url, job, part, have, digest, meter)
        except HubError as exc:
            if exc.status != 403:
                raise
            received, digest = await _refetch(hub, store, job, locate, meter, size, exc)
    try:
        store.settle(part, digest.hexdigest(), job.sha)
    except ChecksumError as exc:
        raise ChecksumError(
            f"object {job.sha} from the hub has sha256 {exc.got}: refused (corrupted in storage "
            "or on the way)",
            got=exc.got,
        ) from None
    meter.finish(job.sha)
    return received


async def _refetch(
    hub: Hub,
    store: ObjectStore,
    job: Job,
    locate: Locator,
    meter: Meter,
    size: int | None,
    refused: HubError,
) -> tuple[int, Any]:
    """The download again with a fresh signed URL, after the hub refused the first one."""
    log.info(
        "object %s: the hub refused its download URL (%s); asking for a new one", job.sha, refused
    )
    url = _geturl(await locate(job.sha), job)
    part = store.part(job.sha)
    have, digest = _resume_from(part, size)  # a 403 wrote nothing: the same bytes as before
    try:
        fetched: tuple[int, Any] = await fetch(hub, url, job, part, have, digest, meter)
    except HubError as exc:
        if exc.status != 403:
            raise
        raise HubError(
            f"the hub refused the download URL of object {job.sha} twice, a fresh one too: {exc}",
            status=exc.status,
            code=exc.code,
        ) from exc
    return fetched


def _geturl(info: dict[str, Any], job: Job) -> str:
    url = info.get("signed-geturl")
    if not url:
        raise HubError(f"the hub gave no download URL for object {job.sha}")
    return str(url)


def _resume_from(part: Path, size: int | None) -> tuple[int, Any]:
    """The bytes of ``part`` a download goes on from, and their digest (a part file
    longer than the object is removed: it cannot be its beginning)."""
    have = part.stat().st_size if part.exists() else 0
    if size is not None and have > size:
        part.unlink()
        have = 0
    digest = hashlib.sha256()
    if have:
        with open(part, "rb") as f:
            while chunk := f.read(CHUNK):
                digest.update(chunk)
    return have, digest


async def upload(
    hub: Hub,
    store: ObjectStore,
    job: Job,
    meter: Meter = SILENT,
    put_url: Callable[[str], str] | None = None,
) -> int:
    """Make sure the hub has ``job.sha``; return the bytes sent (0 when the hub
    already had it: it answers 409 to ``POST /objects/``).

    ``put_url`` maps the hub's ``signed-puturl`` to the URL actually used
    (trail-agent uses it as Pantavisor does: :mod:`trail.agent.wire`)."""
    path = store.path(job.sha)
    size = path.stat().st_size
    response = await hub.request(
        "POST",
        "/objects/",
        # The objectname is the state key ("bsp/kernel.img"), as pvr sends it (repolib.go).
        json={"objectname": job.name, "size": str(size), "sha256sum": job.sha},
        ok=(409,),
    )
    if response.status_code == 409:
        return 0
    url = response.json().get("signed-puturl")
    if not url:
        raise HubError(f"the hub gave no upload URL for object {job.sha}")
    meter.start(job.sha, job.name, size)

    async def body() -> AsyncIterator[bytes]:
        with open(path, "rb") as f:
            while chunk := f.read(CHUNK):
                meter.advance(job.sha, len(chunk))
                yield chunk

    try:
        put = await hub.http.put(
            put_url(url) if put_url else hub.absolute(url),
            content=body(),
            headers={"Content-Length": str(size)},
        )
    except httpx.HTTPError as exc:
        raise HubError(
            f"upload of object {job.sha} interrupted: {exc or type(exc).__name__}"
        ) from exc
    if not 200 <= put.status_code < 300:
        raise error_of(put)
    meter.finish(job.sha)
    return size


async def transfer_all(
    jobs: list[Job],
    move: Callable[[Job], Awaitable[int]],
    concurrency: int = 4,
) -> int:
    """Run ``move`` on every job, ``concurrency`` at a time; return the bytes moved.

    Every job gets its chance even when one fails; then the first failure is
    raised, with the count of the others in its message.
    """
    if not jobs:
        return 0
    gate = asyncio.Semaphore(max(1, concurrency))

    async def one(job: Job) -> int:
        async with gate:
            return await move(job)

    results = await asyncio.gather(*(one(job) for job in jobs), return_exceptions=True)
    errors = [r for r in results if isinstance(r, BaseException)]
    moved = [r for r in results if not isinstance(r, BaseException)]
    for error in errors:
        if not isinstance(error, Exception):
            raise error  # cancellation and the like
    if errors:
        first = errors[0]
        if len(errors) > 1:
            first.args = (f"{first} (and {len(errors) - 1} more failed)",)
        raise first
    return sum(moved)


def _int(value: Any, default: int | None) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
