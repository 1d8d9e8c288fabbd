"""trail.objects: the local store, verified downloads that resume, uploads."""

from __future__ import annotations

import asyncio
import errno
import hashlib
import io
import json
import os
import re
import threading

import httpx
import pytest
import requests
import urllib3

from trail import bodies
from trail.bodies import DOWNLOAD_THREADS
from trail.client import Hub, HubError, Retry, new_http
from trail.errors import ChecksumError
from trail.objects import (
    Job,
    Meter,
    ObjectError,
    ObjectStore,
    copy_file,
    download,
    transfer_all,
    upload,
)
from trail.tests import wire

DATA = bytes(range(256)) * 4096  # 1 MiB
SHA = hashlib.sha256(DATA).hexdigest()


class FakeStorage:
    """Answers /objects/<sha> and the signed URL; records the Range headers it saw."""

    def __init__(self, data: bytes = DATA, ranges: bool = True, corrupt: bool = False) -> None:
        self.data = data
        self.ranges = ranges
        self.corrupt = corrupt
        self.seen_ranges: list[str | None] = []
        self.uploads: dict[str, bytes] = {}
        self.known: set[str] = set()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "GET" and path == f"/objects/{SHA}":
            return httpx.Response(
                200, json={"size": str(len(self.data)), "signed-geturl": f"/blob/{SHA}?sig=x"}
            )
        if request.method == "GET" and path.startswith("/blob/"):
            assert "Authorization" not in request.headers
            body = self.data if not self.corrupt else b"X" + self.data[1:]
            wanted = request.headers.get("Range")
            self.seen_ranges.append(wanted)
            if wanted and self.ranges:
                start = int(re.match(r"bytes=(\d+)-", wanted).group(1))
                return httpx.Response(
                    206,
                    content=body[start:],
                    headers={"Content-Range": f"bytes {start}-{len(body) - 1}/{len(body)}"},
                )
            return httpx.Response(200, content=body)
        if request.method == "POST" and path == "/objects/":
            sha = json.loads(request.content)["sha256sum"]
            if sha in self.known:
                return httpx.Response(409, json={"error": "exists", "code": "exists"})
            return httpx.Response(200, json={"signed-puturl": f"/put/{sha}"})
        if request.method == "PUT" and path.startswith("/put/"):
            self.uploads[path.removeprefix("/put/")] = request.read()
            return httpx.Response(200, json={})
        return httpx.Response(404, json={"error": "nope"})


def hub_for(storage) -> Hub:
    """A hub whose API and signed URLs ``storage`` answers, over a real socket."""
    return Hub(wire.serve(storage), http=new_http(), token="t", retry=Retry(1))


async def locate_with(hub: Hub):
    async def locate(sha):
        return await hub.get_json(f"/objects/{sha}")

    return locate


async def test_it_downloads_and_verifies_an_object(tmp_path):
    storage = FakeStorage()
    hub = hub_for(storage)
    store = ObjectStore(tmp_path)
    moved = await download(hub, store, Job(SHA, "bsp/kernel.img"), await locate_with(hub))
    assert moved == len(DATA)
    assert store.path(SHA).read_bytes() == DATA
    assert not store.part(SHA).exists()


async def test_it_refuses_an_object_whose_bytes_are_not_its_sha(tmp_path):
    hub = hub_for(FakeStorage(corrupt=True))
    store = ObjectStore(tmp_path)
    with pytest.raises(ObjectError, match=f"object {SHA} from the hub has sha256 "):
        await download(hub, store, Job(SHA, "k"), await locate_with(hub))
    assert not store.has(SHA)
    assert not store.part(SHA).exists()  # the next try starts clean


async def test_it_resumes_a_partial_download_with_a_range(tmp_path):
    storage = FakeStorage()
    hub = hub_for(storage)
    store = ObjectStore(tmp_path)
    store.root.mkdir(parents=True, exist_ok=True)
    store.part(SHA).write_bytes(DATA[:300_000])
    moved = await download(hub, store, Job(SHA, "k"), await locate_with(hub))
    assert storage.seen_ranges == ["bytes=300000-"]
    assert moved == len(DATA) - 300_000
    assert store.path(SHA).read_bytes() == DATA


async def test_a_complete_part_file_needs_only_its_check(tmp_path):
    storage = FakeStorage()
    hub = hub_for(storage)
    store = ObjectStore(tmp_path)
    store.root.mkdir(parents=True, exist_ok=True)
    store.part(SHA).write_bytes(DATA)
    assert await download(hub, store, Job(SHA, "k"), await locate_with(hub)) == 0
    assert storage.seen_ranges == []  # the bytes were not asked for again
    assert store.path(SHA).read_bytes() == DATA


async def test_it_starts_over_when_the_server_ignores_the_range(tmp_path):
    storage = FakeStorage(ranges=False)
    hub = hub_for(storage)
    store = ObjectStore(tmp_path)
    store.root.mkdir(parents=True, exist_ok=True)
    store.part(SHA).write_bytes(b"garbage that is not a prefix")
    restarted = []

    class Watch(Meter):
        def restart(self, sha):
            restarted.append(sha)

    await download(hub, store, Job(SHA, "k"), await locate_with(hub), Watch())
    assert restarted == [SHA]
    assert store.path(SHA).read_bytes() == DATA


async def test_it_skips_what_the_store_has(tmp_path):
    def handler(request):
        raise AssertionError("no request expected")

    hub = hub_for(handler)
    store = ObjectStore(tmp_path)
    store.add_bytes(DATA)
    assert await download(hub, store, Job(SHA, "k"), await locate_with(hub)) == 0


async def test_it_uploads_only_what_the_hub_lacks(tmp_path):
    storage = FakeStorage()
    hub = hub_for(storage)
    store = ObjectStore(tmp_path)
    have = store.add_bytes(b"the hub has me")
    new = store.add_bytes(b"the hub lacks me")
    storage.known.add(have)
    sent = await transfer_all(
        [Job(have, "a"), Job(new, "b")], lambda job: upload(hub, store, job), 2
    )
    assert storage.uploads == {new: b"the hub lacks me"}
    assert sent == len(b"the hub lacks me")


async def test_it_runs_transfers_side_by_side_within_the_limit():
    running = 0
    peak = 0

    async def move(job):
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.01)
        running -= 1
        return 1

    jobs = [Job(f"{i:064x}", str(i)) for i in range(10)]
    assert await transfer_all(jobs, move, concurrency=3) == 10
    assert peak == 3


async def test_it_lets_every_transfer_finish_then_reports_the_failures():
    done = []

    async def move(job):
        if job.name in ("1", "2"):
            raise HubError(f"failed {job.name}")
        done.append(job.name)
        return 1

    jobs = [Job(f"{i:064x}", str(i)) for i in range(4)]
    with pytest.raises(HubError, match=r"failed 1 \(and 1 more failed\)"):
        await transfer_all(jobs, move, concurrency=2)
    assert sorted(done) == ["0", "3"]


def test_it_stores_files_under_their_sha(tmp_path):
    src = tmp_path / "f"
    src.write_bytes(b"hello")
    store = ObjectStore(tmp_path / "store")
    sha = store.add_file(src)
    assert sha == hashlib.sha256(b"hello").hexdigest()
    assert store.path(sha).read_bytes() == b"hello"
    other = ObjectStore(tmp_path / "other")
    other.take_from(store, sha)
    assert other.path(sha).read_bytes() == b"hello"


def test_it_stores_a_stream_only_when_it_is_the_object_named(tmp_path):
    store = ObjectStore(tmp_path / "store")
    assert store.add_stream(io.BytesIO(DATA), SHA, len(DATA)) == SHA
    assert store.path(SHA).read_bytes() == DATA
    other = hashlib.sha256(b"other").hexdigest()
    with pytest.raises(ChecksumError, match=f"object {other} holds other bytes") as refused:
        store.add_stream(io.BytesIO(DATA), other)
    assert refused.value.got == SHA
    with pytest.raises(ObjectError, match="3 bytes, not 4"):
        store.add_stream(io.BytesIO(b"abc"), size=4)
    assert sorted(p.name for p in store.root.iterdir()) == [SHA]  # no temporary file left


def test_it_refuses_names_that_are_not_shas(tmp_path):
    with pytest.raises(ObjectError):
        ObjectStore(tmp_path).path("../../etc/passwd")


class BreaksAfter(httpx.AsyncByteStream):
    """A body that sends ``data`` and then loses the connection."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    async def __aiter__(self):
        yield self.data
        raise httpx.ReadError("connection lost")


async def test_it_keeps_what_arrived_before_the_connection_broke(tmp_path):
    storage = FakeStorage()

    def breaking(request):
        if request.url.path.startswith("/blob/"):
            assert request.headers["Accept-Encoding"] == "identity"  # the bytes as stored
            return httpx.Response(
                200,
                stream=BreaksAfter(DATA[:300_000]),
                headers={"Content-Length": str(len(DATA))},
            )
        return storage(request)

    store = ObjectStore(tmp_path)
    with pytest.raises(HubError, match="interrupted"):
        await download(hub_for(breaking), store, Job(SHA, "k"), await locate_with(hub_for(storage)))
    assert store.part(SHA).read_bytes() == DATA[:300_000]
    hub = hub_for(storage)
    await download(hub, store, Job(SHA, "k"), await locate_with(hub))
    assert storage.seen_ranges == ["bytes=300000-"]
    assert store.path(SHA).read_bytes() == DATA


def test_a_copy_of_an_object_can_be_edited_without_touching_the_store(tmp_path):
    store = ObjectStore(tmp_path / "store")
    sha = store.add_bytes(DATA)
    dest = tmp_path / "wc" / "kernel.img"
    dest.parent.mkdir()
    store.copy_to(sha, dest)
    assert dest.read_bytes() == DATA
    with open(dest, "r+b") as f:  # in place, as some editors and tools write
        f.write(b"edited")
    assert store.path(sha).read_bytes() == DATA


def test_it_copies_where_the_kernel_cannot_copy_a_range(tmp_path, monkeypatch):
    def refused(*args):
        raise OSError(errno.EXDEV, "cross-device")

    monkeypatch.setattr(os, "copy_file_range", refused)
    src = tmp_path / "src"
    src.write_bytes(DATA)
    copy_file(src, tmp_path / "dest")
    assert (tmp_path / "dest").read_bytes() == DATA


async def test_downloads_share_a_bounded_set_of_threads(tmp_path):
    """Forty downloads at once (a process simulating a fleet) are read by at most
    DOWNLOAD_THREADS threads, and every one of them completes."""
    hub = hub_for(FakeStorage())
    locate = await locate_with(hub)
    stores = [ObjectStore(tmp_path / str(n)) for n in range(40)]
    moved = await asyncio.gather(*(download(hub, s, Job(SHA, "k"), locate) for s in stores))
    assert moved == [len(DATA)] * 40
    assert all(store.path(SHA).read_bytes() == DATA for store in stores)
    readers = [t for t in threading.enumerate() if t.name.startswith("download-")]
    assert 0 < len(readers) <= DOWNLOAD_THREADS


@pytest.mark.parametrize(
    "env, verify",
    [
        ({}, True),
        ({"SSL_CERT_FILE": "/etc/hub-ca.pem"}, "/etc/hub-ca.pem"),
        ({"SSL_CERT_DIR": "/etc/hub-certs"}, "/etc/hub-certs"),
    ],
)
def test_downloads_trust_the_certificates_the_api_trusts(monkeypatch, env, verify):
    """A hub with a private CA, named by SSL_CERT_FILE for httpx, serves its objects
    over the same TLS: the download sessions must trust the same file."""
    for name in ("SSL_CERT_FILE", "SSL_CERT_DIR"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    found = []
    thread = threading.Thread(target=lambda: found.append(bodies._session().verify))
    thread.start()
    thread.join()
    assert found == [verify]


def test_a_body_without_http_clients_reader_is_read_through_urllib3():
    """The fallback of ``_reader``: a response whose raw stream is not http.client's."""
    response = requests.Response()
    response.raw = urllib3.HTTPResponse(body=io.BytesIO(DATA), preload_content=False)
    read = bodies._reader(response)
    view = memoryview(bytearray(100_000))
    got = bytearray()
    while size := read(view):
        got += view[:size]
    assert bytes(got) == DATA
