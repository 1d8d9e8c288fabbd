"""Moving the objects a state needs between the hub and the user's cache."""

from __future__ import annotations

from typing import Any

from trail import api
from trail.cli.context import Context
from trail.cli.progress import Bars, human, plural
from trail.client import Hub
from trail.objects import Job, ObjectError, ObjectStore, download, transfer_all, upload
from trail.state import object_shas

CONCURRENCY = 4


async def fetch(ctx: Context, hub: Hub, store: ObjectStore, state: dict[str, Any]) -> None:
    """Download the objects of ``state`` that the cache lacks, several at a time."""
    needed = object_shas(state)
    jobs = [Job(sha, needed[sha][0]) for sha in store.missing(needed)]
    cached = len(needed) - len(jobs)
    if not jobs:
        if needed:
            ctx.err.print(f"all {len(needed)} objects are in the cache")
        return

    async def locate(sha: str) -> dict[str, Any]:
        return await api.object_urls(hub, sha)

    with Bars(ctx.err, "downloading", len(jobs)) as bars:
        moved = await transfer_all(
            jobs, lambda job: download(hub, store, job, locate, bars), CONCURRENCY
        )
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
