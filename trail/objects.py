"""Objects on disk and on the wire: a local content-addressed store, and the
downloads and uploads that fill it or empty it into a hub.

* The store keeps ``<root>/<sha>`` files that are verified before they get
  their name; a download in flight is ``<root>/<sha>.part``, so a later run
  resumes it with an HTTP ``Range`` request.
* Every byte that arrives is hashed; an object whose sha256 is not its name
  is refused (:class:`ObjectError`) and never enters the store.
* :func:`transfer_all` runs many transfers at once, each reporting its bytes
  to a :class:`Meter` (progress bars for the CLI, progress reports for the agent).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import http.client
import os
import queue
import re
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import requests
import urllib3

from trail.client import Hub, HubError, error_of

CHUNK = 256 * 1024
#: Bytes a download reads from its socket, hashes and writes at a time (at most).
READ = 1024 * 1024
#: Seconds between a download's words of progress to its meter.
TELL_SECONDS = 0.1
#: Object bodies a process reads at the same time (more wait their turn).
DOWNLOAD_THREADS = 16
_SHA = re.compile(r"[0-9a-f]{64}")
# What copy_file_range answers where the kernel or filesystem cannot do it.
_NO_COPY_RANGE = frozenset({errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.EBADF})

#: Finds the signed URLs of an object: ``(sha) -> {"signed-geturl", "size", ...}``.
Locator = Callable[[str], Awaitable[dict[str, Any]]]


class ObjectError(Exception):
    """An object that failed verification or could not be moved."""


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

    def add_file(self, src: Path, sha: str | None = None) -> str:
        """Copy ``src`` into the store (unless it is there) and return its sha."""
        sha = sha or sha256_file(src)
        if not self.has(sha):
            self.root.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".add-")
            os.close(fd)
            try:
                copy_file(src, Path(tmp))
                if sha256_file(Path(tmp)) != sha:
                    raise ObjectError(f"{src} changed while it was being stored; try again")
                os.replace(tmp, self.path(sha))
            finally:
                Path(tmp).unlink(missing_ok=True)
        return sha

    def add_bytes(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        if not self.has(sha):
            self.root.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".add-")
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, self.path(sha))
        return sha

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
    :class:`HubError` when the hub cannot be reached or refuses.
    """
    if store.has(job.sha):
        return 0
    info = await locate(job.sha)
    url = info.get("signed-geturl")
    if not url:
        raise HubError(f"the hub gave no download URL for object {job.sha}")
    size = _int(info.get("size"), job.size)
    part = store.part(job.sha)
    store.root.mkdir(parents=True, exist_ok=True)
    have = part.stat().st_size if part.exists() else 0
    if size is not None and have > size:
        part.unlink()
        have = 0
    digest = hashlib.sha256()
    if have:
        with open(part, "rb") as f:
            while chunk := f.read(CHUNK):
                digest.update(chunk)
    meter.start(job.sha, job.name, size or 0)
    meter.advance(job.sha, have)
    received = 0
    if not have or have != size:  # else the part file holds every byte: only the check is left
        received, digest = await _fetch(hub, url, job, part, have, digest, meter)
    got = digest.hexdigest()
    if got != job.sha:
        part.unlink(missing_ok=True)
        raise ObjectError(
            f"object {job.sha} from the hub has sha256 {got}: refused (corrupted in storage "
            "or on the way)"
        )
    os.replace(part, store.path(job.sha))
    meter.finish(job.sha)
    return received


async def _fetch(hub: Hub, url: str, job: Job, part: Path, have: int, digest, meter: Meter):
    """GET the object's bytes after the ``have`` already in ``part``; return the
    bytes received and the digest of the whole part file.

    The body is read by requests in one of the process's download threads,
    which also hashes and appends each piece: httpx spent about three times
    curl's CPU on a large body (h11 copies every read twice; docs/benchmarks.md,
    6), requests about what curl does. The threads are daemons: a cancelled
    download (Ctrl-C) is not waited for, and what it already wrote stays in the
    part file for a resume.
    """
    loop = asyncio.get_running_loop()
    done: asyncio.Future = loop.create_future()
    body = _Body(hub, hub.absolute(url), job, part, have, digest)

    def call(method, *args) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody listens
            loop.call_soon_threadsafe(method, *args)

    def tell(method, *args) -> None:
        call(method, job.sha, *args)

    def run() -> None:
        if body.stopped.is_set():  # cancelled while it waited for a thread
            return
        try:
            result = body.fetch(tell, meter)
        except BaseException as exc:  # handed to the awaiting task
            call(_settle, done, None, exc)
        else:
            call(_settle, done, result, None)

    _downloads.submit(run)
    try:
        return await done
    except asyncio.CancelledError:
        body.stop()
        raise


def _settle(future: asyncio.Future, result, exc: BaseException | None) -> None:
    if future.done():  # cancelled meanwhile
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)


class _Body:
    """One object body fetched into its part file (see :func:`_fetch`)."""

    def __init__(self, hub: Hub, url: str, job: Job, part: Path, have: int, digest) -> None:
        self.hub, self.url, self.job, self.part = hub, url, job, part
        self.have, self.digest = have, digest
        self.stopped = threading.Event()
        self.response: requests.Response | None = None

    def fetch(self, tell, meter: Meter):
        # identity: the body is the object itself, nothing to decode.
        headers = {"Accept-Encoding": "identity", "User-Agent": self.hub.http.headers["User-Agent"]}
        if self.have:
            headers["Range"] = f"bytes={self.have}-"
        timeout = self.hub.http.timeout
        sha = self.job.sha
        try:
            with _session().get(
                self.url, headers=headers, stream=True, timeout=(timeout.connect, timeout.read)
            ) as response:
                self.response = response
                status = response.status_code
                if status == 206 and self.have:
                    started = response.headers.get("Content-Range", "")
                    if not started.startswith(f"bytes {self.have}-"):
                        self.part.unlink()
                        raise ObjectError(
                            f"object {sha}: the hub resumed at the wrong offset "
                            f"({response.headers.get('Content-Range')!r} for byte {self.have})"
                        )
                    return self._save(response, "ab", tell, meter), self.digest
                if status == 200:
                    if self.have:  # no Range support: start over
                        tell(meter.restart)
                        self.digest = hashlib.sha256()
                    return self._save(response, "wb", tell, meter), self.digest
                if status == 416:
                    self.part.unlink(missing_ok=True)  # the part file is not a prefix of the object
                raise error_of(_as_httpx(response))
        except (
            requests.RequestException,
            urllib3.exceptions.HTTPError,
            http.client.HTTPException,  # raised by readinto (_reader): a cut body
            ConnectionError,
            TimeoutError,
        ) as exc:
            if self.stopped.is_set():
                raise ObjectError(f"download of object {sha} stopped") from exc
            raise HubError(
                f"download of object {sha} interrupted: {exc or type(exc).__name__}"
            ) from exc

    def _save(self, response: requests.Response, mode: str, tell, meter: Meter) -> int:
        """Append the body to the part file and to the digest, a piece at a time.

        The pieces are read into one buffer that the thread keeps: a new 1 MiB
        object per read cost a page fault every 4 KiB (60,000 a gigabyte), and
        on this VM twice the CPU when its memory was being reclaimed
        (docs/benchmarks.md, 6). A piece is what arrived before the socket
        broke, if it broke: none of it is lost for the resume.
        """
        received = told = 0
        due = time.monotonic() + TELL_SECONDS
        view = _buffer()
        read = _reader(response)
        with open(self.part, mode) as f:
            while size := read(view):
                if self.stopped.is_set():
                    break
                piece = view[:size]
                self.digest.update(piece)
                f.write(piece)
                received += size
                if time.monotonic() >= due:  # each word wakes the event loop: a few a second
                    tell(meter.advance, received - told)
                    told, due = received, time.monotonic() + TELL_SECONDS
        if received > told:
            tell(meter.advance, received - told)
        return received

    def stop(self) -> None:
        """Give up: the thread stops at its next piece, or now if it waits on the socket."""
        self.stopped.set()
        connection = getattr(getattr(self.response, "raw", None), "connection", None)
        sock = getattr(connection, "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class _Threads:
    """At most ``size`` daemon threads that run what is submitted, in order.

    Bounded, so that a process simulating thousands of devices (trail-agent)
    does not start a thread per download; kept, so that each keeps its session
    and its buffer (see ``_save``) from one object to the next. (A body read to
    its end through http.client's ``readinto`` is not returned to urllib3's pool:
    each object takes a new connection, a fraction of a millisecond here.)
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        self.started = 0
        self.lock = threading.Lock()

    def submit(self, work: Callable[[], None]) -> None:
        self.queue.put(work)
        with self.lock:
            if self.started < self.size:
                self.started += 1
                name = f"download-{self.started}"
                threading.Thread(target=self._serve, name=name, daemon=True).start()

    def _serve(self) -> None:
        while True:
            self.queue.get()()


_downloads = _Threads(DOWNLOAD_THREADS)
_local = threading.local()


def _buffer() -> memoryview:
    """This thread's buffer for the pieces of a body."""
    if not hasattr(_local, "buffer"):
        _local.buffer = memoryview(bytearray(READ))
    return _local.buffer


def _reader(response: requests.Response) -> Callable[[memoryview], int]:
    """``read(buffer) -> size`` for the body's bytes as they came (no decoding).

    http.client's ``readinto`` under urllib3 fills the buffer straight from the
    socket; urllib3's own copies through a new bytes object (``read1`` is the
    fallback, for a response without one).
    """
    fp = getattr(response.raw, "_fp", None)
    if isinstance(fp, http.client.HTTPResponse):

        def readinto(view: memoryview) -> int:
            size = fp.readinto(view)
            if not size and fp.length:  # http.client ends a cut body quietly
                raise http.client.IncompleteRead(b"", fp.length)
            return size

        return readinto

    def read1(view: memoryview) -> int:
        piece = response.raw.read1(len(view), decode_content=False)
        view[: len(piece)] = piece
        return len(piece)

    return read1


def _session() -> requests.Session:
    """This thread's requests session (its kept-alive connections); sessions are not
    shared between threads.

    It trusts the certificates httpx trusts for the hub's API: ``SSL_CERT_FILE``
    or ``SSL_CERT_DIR`` when set (a hub with a private CA), else certifi's; and,
    as requests does, ``REQUESTS_CA_BUNDLE``.
    """
    if not hasattr(_local, "session"):
        session = requests.Session()
        session.verify = os.environ.get("SSL_CERT_FILE") or os.environ.get("SSL_CERT_DIR") or True
        _local.session = session
    return _local.session


def _as_httpx(response: requests.Response) -> httpx.Response:
    """A failed body request as httpx's, for :func:`trail.client.error_of`."""
    return httpx.Response(
        response.status_code,
        headers=dict(response.headers),
        content=response.content,
        request=httpx.Request("GET", response.url),
    )


async def upload(hub: Hub, store: ObjectStore, job: Job, meter: Meter = SILENT) -> int:
    """Make sure the hub has ``job.sha``; return the bytes sent (0 when the hub
    already had it: it answers 409 to ``POST /objects/``)."""
    path = store.path(job.sha)
    size = path.stat().st_size
    response = await hub.request(
        "POST",
        "/objects/",
        # The wire's objectname is a file name (no "/"), as pvr sends it.
        json={"objectname": job.name.rsplit("/", 1)[-1], "size": str(size), "sha256sum": job.sha},
        ok=(409,),
    )
    if response.status_code == 409:
        return 0
    url = response.json().get("signed-puturl")
    if not url:
        raise HubError(f"the hub gave no upload URL for object {job.sha}")
    meter.start(job.sha, job.name, size)

    async def body():
        with open(path, "rb") as f:
            while chunk := f.read(CHUNK):
                meter.advance(job.sha, len(chunk))
                yield chunk

    try:
        put = await hub.http.put(
            hub.absolute(url), content=body(), headers={"Content-Length": str(size)}
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
    for error in errors:
        if not isinstance(error, Exception):
            raise error  # cancellation and the like
    if errors:
        first = errors[0]
        if len(errors) > 1:
            first.args = (f"{first} (and {len(errors) - 1} more failed)",)
        raise first
    return sum(results)


def _int(value: Any, default: int | None) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
