"""Downloads the live hub will not simply resume: its 416 for a Range past the end, and
its 403 for a signed URL that expired (trail/bodies.py, trail/objects.py's download).

trail/tests/test_bodies.py has the same cases, and more, against a hub written for
them; here the answers are the real server's (revisions/api/views/storage.py)."""

from __future__ import annotations

import secrets
import time

import httpx
import pytest

from revisions.storage import signing
from trail import api
from trail.client import Hub, new_http
from trail.objects import Job, ObjectStore, download, upload

pytestmark = pytest.mark.e2e


@pytest.fixture
async def hub(live, alice):
    async with new_http() as http:
        yield Hub(live.url, http=http, token=alice.token)


async def uploaded(hub: Hub, tmp_path, data: bytes) -> str:
    store = ObjectStore(tmp_path / "mine")
    sha = store.add_bytes(data)
    assert await upload(hub, store, Job(sha, "bsp/kernel.img")) == len(data)
    return sha


def cache_with_part(tmp_path, sha: str, part: bytes) -> ObjectStore:
    store = ObjectStore(tmp_path / "cache")
    store.root.mkdir(parents=True)
    store.part(sha).write_bytes(part)
    return store


async def test_a_url_the_hub_says_has_expired_is_asked_for_again(live, hub, tmp_path, settings):
    data = secrets.token_bytes(300_000)
    sha = await uploaded(hub, tmp_path, data)
    settings.SECRET_KEY = live.secret_key  # sign as the hub does, an hour ago
    expired = f"{live.url}/local-s3/{signing.sign('get', sha, int(time.time()) - 3600)}"
    refused = httpx.get(expired)
    assert (refused.status_code, refused.json()["code"]) == (403, "expired")
    asked = []

    async def locate(wanted: str) -> dict:
        asked.append(wanted)
        if len(asked) == 1:  # as listed an hour ago
            return {"size": str(len(data)), "signed-geturl": expired}
        return await api.object_urls(hub, wanted)

    store = cache_with_part(tmp_path, sha, data[:100_000])
    moved = await download(hub, store, Job(sha, "bsp/kernel.img"), locate)

    assert asked == [sha, sha]
    assert moved == len(data) - 100_000  # resumed from the part file with the fresh URL
    assert store.path(sha).read_bytes() == data


async def test_a_part_file_the_hub_cannot_resume_is_started_over(hub, tmp_path):
    data = secrets.token_bytes(200_000)
    sha = await uploaded(hub, tmp_path, data)
    info = await api.object_urls(hub, sha)
    part = data + b"bytes of something else"
    past_the_end = httpx.get(info["signed-geturl"], headers={"Range": f"bytes={len(part)}-"})
    assert past_the_end.status_code == 416
    assert past_the_end.headers["Content-Range"] == f"bytes */{len(data)}"

    async def locate(wanted: str) -> dict:
        # Without the size the client cannot tell that the part file is too long
        # (a hub that does not say it): it asks for the bytes after it, and gets the 416.
        return {key: value for key, value in info.items() if key != "size"}

    store = cache_with_part(tmp_path, sha, part)
    moved = await download(hub, store, Job(sha, "bsp/kernel.img"), locate)

    assert moved == len(data)
    assert store.path(sha).read_bytes() == data
    assert not store.part(sha).exists()
