"""Downloads a hub cannot simply resume: a 416, a range from the wrong offset, a
signed URL refused (it expired). trail/bodies.py and trail/objects.py's ``download``.

The hub here answers over a real socket (trail/tests/wire.py), its refusals as
the real one words them (revisions/api/views/storage.py: 416 with
``Content-Range: bytes */<size>``, 403 ``expired`` from revisions/storage/signing.py);
trail/tests/e2e/test_downloads.py meets the same answers from a live hub.
"""

from __future__ import annotations

import hashlib
import re

import httpx
import pytest

from trail.cli.transfer import Locations
from trail.client import Hub, HubError, Retry, new_http
from trail.objects import Job, Meter, ObjectStore, download
from trail.tests import wire

DATA = bytes(range(256)) * 4096  # 1 MiB
SHA = hashlib.sha256(DATA).hexdigest()
EXPIRED = {"error": "this object URL has expired; ask for a new one", "code": "expired"}


class Storage:
    """``GET /objects/<sha>`` signs a new URL each time (``/local-s3/get.<sha>.<n>``);
    the signed URLs serve DATA. ``resume(start)`` answers a ``Range: bytes=<start>-``
    (by default as the hub does); the first ``expired`` URLs are refused with a 403.
    ``whole()`` answers a request without a Range. ``seen`` lists ``(url number,
    Range header)`` for every body request."""

    def __init__(
        self, size: int | None = len(DATA), resume=None, expired: int = 0, whole=None
    ) -> None:
        self.size = size
        self.resume = resume or self.as_the_hub_does
        self.whole = whole or (lambda: httpx.Response(200, content=DATA))
        self.expired = expired
        self.signed = 0
        self.seen: list[tuple[int, str | None]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == f"/objects/{SHA}":
            self.signed += 1
            return httpx.Response(200, json=self.info(self.signed))
        if path == "/trails/t/steps/1/objects":  # the revision's list, as the CLI asks for it
            self.signed += 1
            times = {"now": "2024-05-31T16:08:37Z", "expire-time": "2024-05-31T17:08:37Z"}
            return httpx.Response(200, json=[{**self.info(self.signed), **times}])
        if match := re.fullmatch(rf"/local-s3/get\.{SHA}\.(\d+)", path):
            number, wanted = int(match.group(1)), request.headers.get("Range")
            self.seen.append((number, wanted))
            if number <= self.expired:
                return httpx.Response(403, json=EXPIRED)
            if wanted is None:
                return self.whole()
            return self.resume(int(re.fullmatch(r"bytes=(\d+)-", wanted).group(1)))
        return httpx.Response(404, json={"error": "not found", "code": "not-found"})

    def info(self, number: int) -> dict:
        info = {"sha256sum": SHA, "signed-geturl": f"/local-s3/get.{SHA}.{number}"}
        if self.size is not None:
            info["size"] = str(self.size)
        return info

    @staticmethod
    def as_the_hub_does(start: int) -> httpx.Response:
        if start >= len(DATA):
            return httpx.Response(416, headers={"Content-Range": f"bytes */{len(DATA)}"})
        return partial(start)


def partial(start: int, content_range: str | None = "") -> httpx.Response:
    """A 206 with DATA from ``start``, saying it starts there (or ``content_range``)."""
    if content_range == "":
        content_range = f"bytes {start}-{len(DATA) - 1}/{len(DATA)}"
    headers = {} if content_range is None else {"Content-Range": content_range}
    return httpx.Response(206, content=DATA[start:], headers=headers)


class Restarts(Meter):
    def __init__(self) -> None:
        self.restarted: list[str] = []

    def restart(self, sha: str) -> None:
        self.restarted.append(sha)


def hub_for(storage: Storage) -> Hub:
    return Hub(wire.serve(storage), http=new_http(), token="t", retry=Retry(1))


def asking(hub: Hub):
    async def locate(sha: str) -> dict:
        return await hub.get_json(f"/objects/{sha}")

    return locate


def with_part(tmp_path, data: bytes) -> ObjectStore:
    store = ObjectStore(tmp_path)
    store.root.mkdir(parents=True, exist_ok=True)
    store.part(SHA).write_bytes(data)
    return store


# --- 416: the hub cannot resume where the part file ends -----------------------------


@pytest.mark.parametrize(
    "part, size",
    [
        (DATA + b"more than the object", None),  # a hub that does not say the size
        (DATA, None),  # every byte is there, but nobody said so
        (DATA[:1000] + b"x" * len(DATA), len(DATA) * 2),  # the hub said a wrong size
    ],
    ids=["too-long", "complete", "wrong-size"],
)
async def test_a_416_on_a_resume_starts_the_object_over(tmp_path, part, size):
    """The hub answers a Range past the object's end with 416: the part file is not
    the object's beginning. The client starts over without a Range (it neither fails
    nor keeps the part file) and stores the verified object."""
    storage = Storage(size=size)
    hub, meter = hub_for(storage), Restarts()
    store = with_part(tmp_path, part)

    moved = await download(hub, store, Job(SHA, "k"), asking(hub), meter)

    assert storage.seen == [(1, f"bytes={len(part)}-"), (1, None)]
    assert store.path(SHA).read_bytes() == DATA
    assert not store.part(SHA).exists()
    assert moved == len(DATA)
    assert meter.restarted == [SHA]  # the bytes counted for the part file are taken back


async def test_a_part_file_the_hub_cannot_resume_is_gone_even_if_starting_over_fails(tmp_path):
    """The 416 said the part file is not the object's beginning: it does not stay for
    the next try, even when the new start fails (here the hub went away: 503)."""
    away = httpx.Response(503, json={"error": "down for maintenance"})
    storage = Storage(size=None, whole=lambda: away)
    hub = hub_for(storage)
    store = with_part(tmp_path, DATA + b"more than the object")

    with pytest.raises(HubError, match="HTTP 503: down for maintenance"):
        await download(hub, store, Job(SHA, "k"), asking(hub))

    assert storage.seen == [(1, f"bytes={len(DATA) + 20}-"), (1, None)]
    assert not store.part(SHA).exists() and not store.has(SHA)


# --- 206 from the wrong offset -----------------------------------------------------------


HAVE = 300_000


@pytest.mark.parametrize(
    "answer",
    [
        partial(0),  # the whole object, labelled as a range
        partial(HAVE - 1000),  # overlaps what the part file has
        partial(HAVE + 1000),  # skips bytes
        partial(HAVE, content_range=None),  # says nothing of where it starts
        partial(HAVE, content_range=f"bytes {HAVE}0-{len(DATA) - 1}/{len(DATA)}"),  # 3000000
    ],
    ids=["from-0", "overlap", "gap", "no-content-range", "longer-number"],
)
async def test_a_resume_at_the_wrong_offset_appends_none_of_it(tmp_path, answer):
    """A 206 whose Content-Range does not start at the part file's end: appending it
    would make a file that is not the object. None of it is written; the client
    starts over from the first byte and stores the verified object."""
    storage = Storage(resume=lambda start: answer)
    hub, meter = hub_for(storage), Restarts()
    store = with_part(tmp_path, DATA[:HAVE])

    moved = await download(hub, store, Job(SHA, "k"), asking(hub), meter)

    assert storage.seen == [(1, f"bytes={HAVE}-"), (1, None)]
    assert store.path(SHA).read_bytes() == DATA
    assert moved == len(DATA) and meter.restarted == [SHA]


async def test_a_resume_at_the_right_offset_appends_to_the_part_file(tmp_path):
    """The check above compares the offset, it does not refuse every 206."""
    storage = Storage()
    hub, meter = hub_for(storage), Restarts()
    store = with_part(tmp_path, DATA[:HAVE])
    moved = await download(hub, store, Job(SHA, "k"), asking(hub), meter)
    assert storage.seen == [(1, f"bytes={HAVE}-")]
    assert moved == len(DATA) - HAVE and meter.restarted == []
    assert store.path(SHA).read_bytes() == DATA


# --- 403: the signed URL expired -------------------------------------------------------


async def test_an_expired_url_is_asked_for_again_and_the_download_resumes(tmp_path):
    """A signed URL refused with 403 (expired before its turn came): the client asks
    ``GET /objects/<sha>`` for a fresh one, once, and resumes from its part file."""
    storage = Storage(expired=1)
    hub = hub_for(storage)
    store = with_part(tmp_path, DATA[:HAVE])

    moved = await download(hub, store, Job(SHA, "k"), asking(hub))

    assert storage.signed == 2
    assert storage.seen == [(1, f"bytes={HAVE}-"), (2, f"bytes={HAVE}-")]  # the part was kept
    assert moved == len(DATA) - HAVE
    assert store.path(SHA).read_bytes() == DATA


async def test_the_clis_listed_url_is_replaced_by_a_fresh_one(tmp_path):
    """``trail clone`` takes its URLs from the revision's object list; a listed URL the
    hub refuses is asked for again on its own (Locations gives it out only once)."""
    storage = Storage(expired=1)
    hub = hub_for(storage)
    store = ObjectStore(tmp_path)
    await download(hub, store, Job(SHA, "k"), Locations(hub, "t", 1).locate)
    assert storage.signed == 2 and storage.seen == [(1, None), (2, None)]
    assert store.path(SHA).read_bytes() == DATA


async def test_a_url_refused_again_is_one_clear_error_and_the_part_file_stays(tmp_path):
    storage = Storage(expired=99)
    hub = hub_for(storage)
    store = with_part(tmp_path, DATA[:HAVE])

    with pytest.raises(HubError) as refused:
        await download(hub, store, Job(SHA, "k"), asking(hub))

    assert refused.value.status == 403 and refused.value.code == "expired"
    message = str(refused.value)
    assert message.startswith(f"the hub refused the download URL of object {SHA} twice")
    assert message.endswith("HTTP 403: this object URL has expired; ask for a new one")
    assert storage.signed == 2  # asked again once, not in a loop
    assert store.part(SHA).read_bytes() == DATA[:HAVE]  # the next try resumes
    assert not store.has(SHA)


async def test_only_a_refused_url_is_asked_for_again(tmp_path):
    """A 404 (the bytes are not uploaded) is not the URL's fault: no new URL is asked for."""

    def not_uploaded(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/local-s3/"):
            body = {"error": "this object's bytes have not been uploaded yet", "code": "not-found"}
            return httpx.Response(404, json=body)
        return storage(request)

    storage = Storage()
    hub = Hub(wire.serve(not_uploaded), http=new_http(), token="t", retry=Retry(1))
    with pytest.raises(HubError, match="HTTP 404: this object's bytes have not been uploaded"):
        await download(hub, ObjectStore(tmp_path), Job(SHA, "k"), asking(hub))
    assert storage.signed == 1
