"""Downloads of the CLI: signed URLs asked for once per revision, and a clone's
tree written while its objects arrive (and taken back when the clone fails)."""

from __future__ import annotations

import asyncio
import hashlib
import io
import threading
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from rich.console import Console

from trail.cli import build_parser
from trail.cli.context import Context
from trail.cli.progress import Bars
from trail.cli.remote import _download_into
from trail.cli.transfer import URL_MARGIN, Locations
from trail.client import Hub, Retry, new_http
from trail.errors import ObjectError
from trail.objects import ObjectStore
from trail.tests import wire
from trail.workcopy import WorkCopy

TRAIL = "6b0763e504336695eccf7100"
KERNEL = b"a kernel " * 100_000
ROOTFS = b"a root filesystem " * 100_000
SHAS = {data: hashlib.sha256(data).hexdigest() for data in (KERNEL, ROOTFS)}
STATE = {
    "#spec": "pantavisor-service-system@1",
    "bsp/kernel.img": SHAS[KERNEL],
    "app/root.squashfs": SHAS[ROOTFS],
    "app/copy.squashfs": SHAS[ROOTFS],  # one object, two files
    "app/run.json": {"name": "app"},
}


class FakeHub:
    """The step's object list, ``GET /objects/<sha>`` and the signed URLs; counts requests."""

    def __init__(self, lifetime: float = 3600.0, listed=None, corrupt=(), lists=True):
        self.lifetime = lifetime
        self.lists = lists
        self.listed = set(SHAS.values() if listed is None else listed)
        self.corrupt = set(corrupt)
        self.seen: list[str] = []

    def info(self, sha: str, lifetime: float) -> dict:
        now = datetime.now(UTC)
        return {
            "sha256sum": sha,
            "size": str(len(self.data(sha))),
            "signed-geturl": f"/blob/{sha}",
            "now": now.isoformat().replace("+00:00", "Z"),
            "expire-time": (now + timedelta(seconds=lifetime)).isoformat().replace("+00:00", "Z"),
        }

    def data(self, sha: str) -> bytes:
        return next(data for data, s in SHAS.items() if s == sha)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.seen.append(path)
        if path == f"/trails/{TRAIL}/steps/1/objects" and self.lists:
            return httpx.Response(200, json=[self.info(s, self.lifetime) for s in self.listed])
        if path.startswith("/objects/"):
            return httpx.Response(200, json=self.info(path.rsplit("/", 1)[1], 3600))
        if path.startswith("/blob/"):
            sha = path.rsplit("/", 1)[1]
            data = self.data(sha)
            return httpx.Response(200, content=b"X" + data[1:] if sha in self.corrupt else data)
        return httpx.Response(404, json={"error": "nope"})


def hub_for(fake) -> Hub:
    """A hub that ``fake`` answers, over a real socket (downloads use requests)."""
    return Hub(wire.serve(fake), http=new_http(), token="t", retry=Retry(1))


@pytest.fixture
def ctx(monkeypatch, tmp_path):
    monkeypatch.setenv("TRAIL_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.chdir(tmp_path)
    return Context(build_parser().parse_args(["status"]))


async def test_it_asks_for_a_revisions_urls_once():
    fake = FakeHub()
    locations = Locations(hub_for(fake), TRAIL, 1)
    for sha in SHAS.values():
        assert (await locations.locate(sha))["signed-geturl"] == f"/blob/{sha}"
    assert fake.seen == [f"/trails/{TRAIL}/steps/1/objects"]


async def test_downloads_that_start_together_ask_for_the_list_once():
    """A clone starts four downloads at once: one asks for the list, the others wait for it."""
    fake = FakeHub()
    locations = Locations(hub_for(fake), TRAIL, 1)
    found = await asyncio.gather(*(locations.locate(sha) for sha in SHAS.values()))
    assert [info["signed-geturl"] for info in found] == [f"/blob/{sha}" for sha in SHAS.values()]
    assert fake.seen == [f"/trails/{TRAIL}/steps/1/objects"]


async def test_it_asks_on_its_own_for_an_object_the_list_lacks():
    fake = FakeHub(listed=[SHAS[KERNEL]])
    locations = Locations(hub_for(fake), TRAIL, 1)
    await locations.locate(SHAS[ROOTFS])
    assert fake.seen == [f"/trails/{TRAIL}/steps/1/objects", f"/objects/{SHAS[ROOTFS]}"]


async def test_it_does_not_use_a_listed_url_about_to_expire():
    fake = FakeHub(lifetime=URL_MARGIN / 2)
    locations = Locations(hub_for(fake), TRAIL, 1)
    await locations.locate(SHAS[KERNEL])
    assert fake.seen[-1] == f"/objects/{SHAS[KERNEL]}"


async def test_it_asks_object_by_object_a_hub_without_the_list():
    fake = FakeHub(lists=False)
    locations = Locations(hub_for(fake), TRAIL, 1)
    assert (await locations.locate(SHAS[KERNEL]))["signed-geturl"] == f"/blob/{SHAS[KERNEL]}"
    assert fake.seen == [f"/trails/{TRAIL}/steps/1/objects", f"/objects/{SHAS[KERNEL]}"]


async def test_without_a_revision_it_asks_object_by_object():
    fake = FakeHub()
    await Locations(hub_for(fake)).locate(SHAS[KERNEL])
    assert fake.seen == [f"/objects/{SHAS[KERNEL]}"]


async def test_a_clone_writes_each_object_to_every_file_that_names_it(ctx, tmp_path):
    store = ObjectStore(tmp_path / "cache")
    dest = tmp_path / "wc"
    placed = await _download_into(ctx, hub_for(FakeHub()), store, STATE, dest, TRAIL, 1)
    assert sorted(placed) == ["app/copy.squashfs", "app/root.squashfs", "bsp/kernel.img"]
    assert (dest / "app/copy.squashfs").read_bytes() == ROOTFS
    assert (dest / "bsp/kernel.img").read_bytes() == KERNEL
    assert store.path(SHAS[ROOTFS]).read_bytes() == ROOTFS  # the cache keeps its own copy

    wc = WorkCopy.create(dest, {"trail-id": TRAIL, "rev": 1}, STATE, store, placed=placed)
    assert wc.status().clean
    (dest / "app/root.squashfs").write_bytes(b"edited")  # editing a file spoils no cache
    assert store.path(SHAS[ROOTFS]).read_bytes() == ROOTFS
    assert (dest / "app/copy.squashfs").read_bytes() == ROOTFS


@pytest.mark.parametrize("made", [False, True])
async def test_a_failed_clone_leaves_no_files_behind(ctx, tmp_path, made):
    store = ObjectStore(tmp_path / "cache")
    dest = tmp_path / "wc"
    if made:
        dest.mkdir()
    hub = hub_for(FakeHub(corrupt=[SHAS[KERNEL]]))
    with pytest.raises(ObjectError, match="refused"):
        await _download_into(ctx, hub, store, STATE, dest, TRAIL, 1)
    assert dest.is_dir() == made
    assert not made or list(dest.iterdir()) == []
    assert store.has(SHAS[ROOTFS]) and not store.has(SHAS[KERNEL])


async def test_an_interrupted_clone_leaves_no_files_behind(ctx, tmp_path):
    fake = FakeHub()
    stalled = threading.Event()

    def handler(request):
        if request.url.path == f"/blob/{SHAS[KERNEL]}":
            stalled.wait(30)  # set only at the end: the kernel never comes
        return fake(request)

    store = ObjectStore(tmp_path / "cache")
    dest = tmp_path / "wc"
    clone = asyncio.create_task(_download_into(ctx, hub_for(handler), store, STATE, dest, TRAIL, 1))
    while not (dest / "app/copy.squashfs").exists():
        await asyncio.sleep(0.01)
    clone.cancel()  # Ctrl-C
    with pytest.raises(asyncio.CancelledError):
        await clone
    assert not dest.exists()
    assert store.has(SHAS[ROOTFS])
    stalled.set()


def test_the_bars_show_object_names_as_they_are():
    """On a terminal each object has a bar labelled with its state key; a key may hold
    "[/y]" (a closing tag to rich's markup, an error when none is open) or ":x:"."""
    console = Console(file=io.StringIO(), force_terminal=True, width=120)
    with Bars(console, "downloading", 2) as bars:
        bars.start("a" * 64, "app/draft[/y].conf", 10)
        bars.start("b" * 64, "etc/to:x:do", 10)
        bars.advance("a" * 64, 5)
        bars.progress.refresh()
        shown = console.file.getvalue()
    assert "app/draft[/y].conf" in shown and "etc/to:x:do" in shown
