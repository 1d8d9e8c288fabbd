"""The bodies of downloads, read by requests in a few threads a process keeps.

:func:`fetch` appends an object's bytes to its ``.part`` file and its sha256
digest; trail/objects.py's ``download`` resumes, checks and names the object.
httpx spent about three times curl's CPU on a large body (h11 copies every read
twice, and the async client pauses and resumes the socket around each read;
docs/benchmarks.md, 6); requests reading into a kept buffer, about what curl
does. The hub's API stays on httpx.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import http.client
import logging
import os
import queue
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import requests
import urllib3

from trail.client import Hub, HubError, error_of
from trail.errors import ObjectError

if TYPE_CHECKING:
    from trail.objects import Job, Meter

log = logging.getLogger("trail.bodies")

#: Bytes a download reads from its socket, hashes and writes at a time (at most).
READ = 1024 * 1024
#: Seconds between a download's words of progress to its meter.
TELL_SECONDS = 0.1
#: Object bodies a process reads at the same time (more wait their turn).
DOWNLOAD_THREADS = 16


async def fetch(hub: Hub, url: str, job: Job, part: Path, have: int, digest, meter: Meter):
    """GET the object's bytes after the ``have`` already in ``part``; return the
    bytes received and the digest of the whole part file.

    A hub that cannot resume at ``have`` (it answers 416, or a 206 from another
    offset) gets none of its answer appended: the part file starts over from
    the first byte, as it does when the hub ignores the Range (a 200).

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
    """One object body fetched into its part file (see :func:`fetch`)."""

    def __init__(self, hub: Hub, url: str, job: Job, part: Path, have: int, digest) -> None:
        self.hub, self.url, self.job, self.part = hub, url, job, part
        self.have, self.digest = have, digest
        self.stopped = threading.Event()
        self.response: requests.Response | None = None

    def fetch(self, tell, meter: Meter):
        received = self._get(tell, meter)
        if received is None:
            # The hub cannot go on from the part file (416, or its bytes start at
            # another offset): those bytes are not a prefix it can extend, so
            # none of its answer is appended. Start over from the first byte, once.
            self.part.unlink(missing_ok=True)
            self.have, self.digest = 0, hashlib.sha256()
            tell(meter.restart)
            received = self._get(tell, meter)
        assert received is not None  # without a Range there is nothing to resume
        return received, self.digest

    def _get(self, tell, meter: Meter) -> int | None:
        """One GET of the body from byte ``have``: the bytes saved, or None when the
        hub answered a resume with a 416 or with a range that starts elsewhere."""
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
                        log.info(
                            "object %s: the hub resumed at the wrong offset (%r for byte %s);"
                            " starting over",
                            sha,
                            started,
                            self.have,
                        )
                        return None
                    return self._save(response, "ab", tell, meter)
                if status == 200:
                    if self.have:  # no Range support: start over
                        tell(meter.restart)
                        self.digest = hashlib.sha256()
                    return self._save(response, "wb", tell, meter)
                if status == 416 and self.have:
                    log.info(
                        "object %s: the hub cannot resume at byte %s (HTTP 416, %r); starting over",
                        sha,
                        self.have,
                        response.headers.get("Content-Range"),
                    )
                    return None
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
