"""Downloads and exports stream under ASGI: the first bytes leave before the object is read whole.

(Django reads a synchronous iterator to its end before sending anything under
ASGI, so a gigabyte object used to take a gigabyte of memory per download.)
"""

from __future__ import annotations

import asyncio

import pytest
from asgiref.testing import ApplicationCommunicator
from channels.db import database_sync_to_async
from django.db import connections

from revisions import services
from revisions.storage.base import CHUNK_SIZE
from revisions.storage.filesystem import FileSystemStore
from revisions.tests.conftest import random_bytes, sha
from trailhub.asgi import application

pytestmark = [pytest.mark.django_db(transaction=True)]

SIZE = 8 * CHUNK_SIZE


@pytest.fixture(autouse=True)
async def _close_connections():
    yield
    await database_sync_to_async(connections.close_all)()


@pytest.fixture
def bytes_read(monkeypatch) -> list[int]:
    """How many bytes have been read from stored objects so far (one running total)."""
    total = [0]
    opened = FileSystemStore.open

    class Counting:
        def __init__(self, stream) -> None:
            self.stream = stream

        def read(self, size: int = -1) -> bytes:
            data = self.stream.read(size)
            total[0] += len(data)
            return data

        def __getattr__(self, name):
            return getattr(self.stream, name)

    monkeypatch.setattr(
        FileSystemStore, "open", lambda self, sha, start=0: Counting(opened(self, sha, start))
    )
    return total


class Recording(asyncio.Queue):
    """The application's output, noting how many bytes had been read when each message left
    (the test's own reading can lag: nothing holds the application back here)."""

    def __init__(self, bytes_read: list[int]) -> None:
        super().__init__()
        self.bytes_read, self.read_when_sent = bytes_read, []

    async def put(self, message) -> None:
        self.read_when_sent.append(self.bytes_read[0])
        await super().put(message)


async def first_body(
    path: str, bytes_read: list[int], query: str = ""
) -> tuple[int, bytes, int, ApplicationCommunicator]:
    """Status and first body message of a GET, and how many bytes had been read when that
    message left."""
    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": "GET",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "headers": [(b"host", b"testserver")],
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 1234),
        "scheme": "http",
    }
    communicator = ApplicationCommunicator(application, scope)
    communicator._output_queue = output = Recording(bytes_read)
    await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
    start = await communicator.receive_output(timeout=10)
    body = await communicator.receive_output(timeout=10)
    assert body["more_body"], "the whole answer came in one message"
    return start["status"], body["body"], output.read_when_sent[1], communicator


async def rest_of(communicator: ApplicationCommunicator, first: bytes) -> bytes:
    parts = [first]
    while True:
        message = await communicator.receive_output(timeout=10)
        parts.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(parts)


async def test_a_download_streams_under_asgi(api, owner, upload, bytes_read):
    data = random_bytes(SIZE)

    def signed_get_url() -> str:
        upload(owner, data)
        return api.as_(owner).get(f"/objects/{sha(data)}").json()["signed-geturl"]

    url = await database_sync_to_async(signed_get_url)()
    path = url.split("testserver", 1)[1]  # the signature is in the path: /local-s3/<token>

    status, first, read, communicator = await first_body(path, bytes_read)

    assert status == 200
    assert read < SIZE, "the object was read whole before the first bytes went out"
    assert await rest_of(communicator, first) == data


async def test_an_export_streams_under_asgi(api, owner, device, upload, trail_of, bytes_read):
    data = random_bytes(SIZE)

    def revision():
        upload(owner, data)
        trail = trail_of(device, {"#spec": "pantavisor-service-system@1"})
        state = {"#spec": "pantavisor-service-system@1", "app/root.squashfs": sha(data)}
        services.post_step(trail, state, author=owner)
        device.public = True
        device.save()

    await database_sync_to_async(revision)()
    status, first, read, communicator = await first_body(
        "/exports/alice/kiosk/1/kiosk.tar.gz", bytes_read
    )

    assert status == 200
    assert read < SIZE, "the export was built whole before the first bytes went out"
    assert len(await rest_of(communicator, first)) > SIZE // 2


@pytest.mark.django_db
def test_a_whole_object_goes_to_a_wsgi_server_as_a_file(api, owner, upload):
    """So that the server can send it with sendfile (wsgi.file_wrapper)."""
    from django.http import FileResponse

    data = random_bytes(SIZE)
    upload(owner, data)
    url = api.as_(owner).get(f"/objects/{sha(data)}").json()["signed-geturl"]
    whole = api.get(url)
    assert isinstance(whole, FileResponse) and whole["Content-Length"] == str(SIZE)
    assert b"".join(whole.streaming_content) == data
    part = api.get(url, HTTP_RANGE="bytes=10-19")
    assert part.status_code == 206 and b"".join(part.streaming_content) == data[10:20]
