"""Moving the objects a state needs between the hub and the user's cache."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from trail import api
from trail.cli.context import Context
from trail.cli.progress import Bars, human, plural
from trail.client import Hub, HubError
from trail.errors import ObjectError
from trail.objects import Job, ObjectStore, download, transfer_all, upload
from trail.state import object_shas

log = logging.getLogger("trail.cli")

CONCURRENCY = 4
#: A listed URL is not used when it would expire within this many seconds.
URL_MARGIN = 60.0


class Locations:
    """The signed URLs of a revision's objects, asked for in one request
    (``GET /trails/<id>/steps/<rev>/objects``) instead of one per object.

    An object the list lacks (a local commit's, say), or whose listed URL may
    have expired by the time its download starts, is asked for on its own
    (``GET /objects/<sha>``), as it was before the list existed.
    """

    def __init__(self, hub: Hub, trail_id: str | None = None, rev: int | None = None) -> None:
        self.hub = hub
        self.revision = (trail_id, rev) if trail_id is not None and rev is not None else None
        self.listed: dict[str, tuple[dict[str, Any], float]] | None = None
        # Downloads start several at a time: the first asks for the list, the others wait.
        self._listing = asyncio.Lock()

    async def locate(self, sha: str) -> dict[str, Any]:
        async with self._listing:
            if self.listed is None:
                self.listed = await self._list()
        info, good_until = self.listed.pop(sha, (None, 0.0))
        if info is not None and time.monotonic() < good_until:
            return info
        return await api.object_urls(self.hub, sha)

    async def _list(self) -> dict[str, tuple[dict[str, Any], float]]:
        if self.revision is None:
            return {}
        asked = time.monotonic()
        try:
            answer = await api.step_objects(self.hub, *self.revision)
        except HubError as exc:  # a hub without the list: object by object, as before
            log.info("no object list for rev %s: %s", self.revision[1], exc)
            return {}
        listed = {}
        for info in answer if isinstance(answer, list) else []:
            lifetime = _lifetime(info)
            if info.get("sha256sum") and info.get("signed-geturl") and lifetime:
                listed[info["sha256sum"]] = (info, asked + lifetime - URL_MARGIN)
        return listed


def _lifetime(info: dict[str, Any]) -> float:
    """How long a signed URL lasts, by the hub's own clock (``now`` to ``expire-time``);
    0 when the answer does not say."""
    try:
        now = datetime.fromisoformat(info["now"].replace("Z", "+00:00"))
        expires = datetime.fromisoformat(info["expire-time"].replace("Z", "+00:00"))
    except (KeyError, AttributeError, ValueError):
        return 0.0
    return max(0.0, (expires - now).total_seconds())


async def fetch(
    ctx: Context,
    hub: Hub,
    store: ObjectStore,
    state: dict[str, Any],
    *,
    locations: Locations | None = None,
    stored: Callable[[str], Awaitable[None]] | None = None,
) -> None:
    """Download the objects of ``state`` that the cache lacks, several at a time.

    ``locations`` knows the revision whose objects these are; ``stored`` is
    awaited with each object's sha as soon as it is in the cache.
    """
    needed = object_shas(state)
    jobs = [Job(sha, needed[sha][0]) for sha in store.missing(needed)]
    cached = len(needed) - len(jobs)
    if not jobs:
        if needed:
            ctx.err.print(f"all {len(needed)} objects are in the cache")
        return
    locations = locations or Locations(hub)

    async def move(job: Job, bars: Bars) -> int:
        moved = await download(hub, store, job, locations.locate, bars)
        if stored is not None:
            await stored(job.sha)
        return moved

    with Bars(ctx.err, "downloading", len(jobs)) as bars:
        moved = await transfer_all(jobs, lambda job: move(job, bars), CONCURRENCY)
    ctx.err.print(
        f"downloaded {plural(len(jobs), 'object')} ({human(moved)}), {cached} in the cache already"
    )


async def push(
    ctx: Context, hub: Hub, store: ObjectStore, state: dict[str, Any], known: dict[str, Any]
) -> None:
    """Upload the objects of ``state`` that the hub lacks. Those of ``known`` (a
    state the hub holds) are there already; the hub says which others it has."""
    on_hub = set(object_shas(known))
    needed = object_shas(state)
    jobs = [Job(sha, keys[0]) for sha, keys in needed.items() if sha not in on_hub]
    absent = [job for job in jobs if not store.has(job.sha)]
    if absent:
        raise ObjectError(
            f"object {absent[0].sha} ({absent[0].name}) is not in the cache "
            f"{store.root}; run `trail checkout` to restore the files, then commit again"
        )
    if not jobs:
        return
    with Bars(ctx.err, "uploading", len(jobs)) as bars:
        moved = await transfer_all(jobs, lambda job: upload(hub, store, job, bars), CONCURRENCY)
    ctx.err.print(
        f"uploaded {plural(bars.done, 'object')} ({human(moved)}), "
        f"the hub had {len(needed) - bars.done} already"
    )
