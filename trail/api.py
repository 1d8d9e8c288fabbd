"""The hub's endpoints, each written once for the CLI and the agent alike.

Thin functions over :class:`trail.client.Hub`: they know paths and shapes
(the Pantahub wire's hyphenated names), nothing about terminals or disks.
"""

from __future__ import annotations

import copy
from typing import Any
from urllib.parse import quote

from trail import wire
from trail.client import Hub, HubError, json_of

PAGE = 1000


def _q(part: str) -> str:
    return quote(str(part), safe="")


# --- accounts and devices -------------------------------------------------------


async def whoami(hub: Hub) -> dict[str, Any]:
    return await hub.get_json("/auth/auth_status")


async def register_device(
    hub: Hub, secret: str, auto_token: str | None = None, nick: str | None = None
) -> dict[str, Any]:
    """``POST /devices/`` anonymously: the answer holds id, prn, secret and challenge
    (none when a factory ``auto_token`` made the device owned at birth)."""
    headers = {wire.AUTO_TOKEN_HEADER: auto_token} if auto_token else None
    body: dict[str, Any] = {"secret": secret}
    if nick:
        body["nick"] = nick
    return _one(await hub.send_json("POST", "/devices/", body, headers=headers, auth=False, ok=()))


async def get_device(hub: Hub, ref: str) -> dict[str, Any]:
    """A device by id, prn or (one of the caller's) nick."""
    return _one(await hub.get_json(f"/devices/{_q(ref)}"))


async def find_device(hub: Hub, owner_nick: str, nick: str) -> dict[str, Any]:
    """The device ``nick`` of ``owner_nick``, if the caller may see it."""
    try:
        return _one(await hub.get_json(f"/devices/np/{_q(owner_nick)}/{_q(nick)}"))
    except HubError as exc:
        if exc.status == 404:
            raise HubError(f"no device {owner_nick}/{nick} that you may see", 404) from None
        raise


async def fork_device(
    hub: Hub,
    ref: str,
    *,
    nick: str | None = None,
    rev: int | None = None,
    into: str | None = None,
) -> dict[str, Any]:
    """``POST /devices/<ref>/fork``: revision ``rev`` (default the newest) of a device the
    caller may see, into a new device ``nick`` or into the caller's device ``into``.
    The answer holds ``device``, ``revision`` and ``forked-from``."""
    body: dict[str, Any] = {}
    for name, value in (("nick", nick), ("rev", rev), ("into", into)):
        if value is not None:
            body[name] = value
    return await hub.send_json("POST", f"/devices/{_q(ref)}/fork", body)


async def upstream(hub: Hub, trail_id: str) -> dict[str, Any]:
    """``GET /trails/<id>/upstream``: the device a fork follows (``device``, ``owner-nick``,
    ``nick``, ``base-rev``, ``head-rev``, ``behind``, ``follow``, ``notice``)."""
    return await hub.get_json(f"/trails/{_q(trail_id)}/upstream")


async def follow_upstream(hub: Hub, trail_id: str, follow: bool) -> dict[str, Any]:
    return await hub.send_json("PUT", f"/trails/{_q(trail_id)}/upstream", {"follow": follow})


async def merge_upstream(
    hub: Hub,
    trail_id: str,
    rev: int = -1,
    *,
    state: dict[str, Any] | None = None,
    parent_rev: int | None = None,
) -> dict[str, Any]:
    """``POST /trails/<id>/upstream/merge``: the hub's three-way merge of upstream revision
    ``rev``, or ``state``, the merge made by hand on the fork's ``parent_rev``. The answer
    holds ``revision`` (null when nothing needed posting) and ``upstream``."""
    body: dict[str, Any] = {"rev": rev}
    if state is not None:
        body.update({"state": state, "parent-rev": parent_rev})
    return await hub.send_json("POST", f"/trails/{_q(trail_id)}/upstream/merge", body)


async def propose(
    hub: Hub, target: str, source: str, rev: int, title: str, body: str = ""
) -> dict[str, Any]:
    """``POST /trails/<target>/proposals``: revision ``rev`` of the caller's device
    ``source`` proposed to ``target``. The answer holds ``number``, ``mergeable`` and
    ``conflicts``."""
    payload = {"from": source, "rev": rev, "title": title, "body": body}
    return await hub.send_json("POST", f"/trails/{_q(target)}/proposals", payload)


async def list_devices(hub: Hub) -> list[dict[str, Any]]:
    return await hub.get_json("/devices/")


async def trail_summaries(hub: Hub) -> list[dict[str, Any]]:
    """Where each of the caller's devices is: newest revision, running one, status."""
    return await hub.get_json("/trails/summary", params={"limit": PAGE})


async def claim_device(hub: Hub, device_id: str, challenge: str) -> dict[str, Any]:
    return _one(
        await hub.send_json(
            "PUT",
            f"/devices/{_q(device_id)}",
            {"challenge": challenge},
            params={"challenge": challenge},
        )
    )


async def patch_user_meta(hub: Hub, ref: str, meta: dict[str, Any]) -> dict[str, Any]:
    return await hub.send_json("PATCH", f"/devices/{_q(ref)}/user-meta", meta)


async def patch_device_meta(hub: Hub, device_id: str, meta: dict[str, Any]) -> Any:
    return await hub.send_json("PATCH", f"/devices/{_q(device_id)}/device-meta", meta)


async def get_logs(hub: Hub, device_prn: str, count: int = 100) -> dict[str, Any]:
    """The newest ``count`` log entries of a device, newest first."""
    return await hub.get_json("/logs/", params={"dev": device_prn, "page-size": count})


async def post_logs(hub: Hub, entries: list[dict[str, Any]]) -> Any:
    return await hub.send_json("POST", "/logs/", entries)


# --- trails and steps ---------------------------------------------------------------


async def post_factory_state(hub: Hub, state: dict[str, Any]) -> dict[str, Any]:
    """``POST /trails/``: a device's revision 0."""
    return await hub.send_json("POST", "/trails/", state)


async def get_trail(hub: Hub, trail_id: str) -> dict[str, Any]:
    return await hub.get_json(f"/trails/{_q(trail_id)}")


class LastPoll:
    """What a device's previous poll answered, so that the next one can be conditional:
    the hub answers 304, with no body, while its ETag still holds."""

    def __init__(self) -> None:
        self.etag: str | None = None
        self.steps: list[dict[str, Any]] = []


async def pending_steps(
    hub: Hub, trail_id: str, last: LastPoll | None = None
) -> list[dict[str, Any]]:
    """The revisions not finished yet, oldest first (a device polling its own
    trail gets only the oldest: the one to work on). With ``last``, kept by the
    caller from poll to poll, the poll sends ``If-None-Match``."""
    headers = {"If-None-Match": last.etag} if last is not None and last.etag else None
    response = await hub.request("GET", f"/trails/{_q(trail_id)}/steps", headers=headers, ok=(304,))
    if response.status_code == 304 and last is not None:
        return copy.deepcopy(last.steps)
    steps = json_of(response)
    if last is not None:
        last.etag, last.steps = response.headers.get("ETag"), copy.deepcopy(steps)
    return steps


async def all_steps(hub: Hub, trail_id: str) -> list[dict[str, Any]]:
    """Every revision of a trail, oldest first, a page of 1000 at a time."""
    steps: list[dict[str, Any]] = []
    while True:
        params: dict[str, Any] = {"progress.status": '{"$nin": []}', "limit": PAGE}
        if steps:
            params["after"] = steps[-1]["rev"]
        page = await hub.get_json(f"/trails/{_q(trail_id)}/steps", params=params)
        steps += page
        if len(page) < PAGE:
            return steps


def step_status(step: dict[str, Any]) -> str:
    """A step's progress status (``progress.status`` on the wire; NEW when absent)."""
    progress = step.get("progress")
    if isinstance(progress, dict) and progress.get("status"):
        return progress["status"]
    return step.get("status") or "NEW"


async def get_step(hub: Hub, trail_id: str, rev: int | str) -> dict[str, Any]:
    return await hub.get_json(f"/trails/{_q(trail_id)}/steps/{_q(rev)}")


async def latest_step(hub: Hub, trail_id: str) -> dict[str, Any]:
    """The trail's newest revision, found the way pvr finds it: through the
    trail's ``.pvrremote`` document and its ``step-get-url``."""
    remote = await hub.get_json(f"/trails/{_q(trail_id)}/.pvrremote")
    return await hub.get_json(remote["step-get-url"])


async def post_step(
    hub: Hub, trail_id: str, rev: int, state: dict[str, Any], message: str
) -> dict[str, Any]:
    return await hub.send_json(
        "POST",
        f"/trails/{_q(trail_id)}/steps",
        {"rev": rev, "commit-msg": message, "state": state},
    )


async def put_progress(
    hub: Hub, trail_id: str, rev: int, progress: dict[str, Any]
) -> dict[str, Any]:
    return await hub.send_json("PUT", f"/trails/{_q(trail_id)}/steps/{rev}/progress", progress)


# --- objects ------------------------------------------------------------------


async def object_urls(hub: Hub, sha: str) -> dict[str, Any]:
    """``GET /objects/<sha>``: size and ``signed-geturl`` of an object the caller may read."""
    return await hub.get_json(f"/objects/{_q(sha)}")


async def step_objects(hub: Hub, trail_id: str, rev: int | str) -> list[dict[str, Any]]:
    """``GET /trails/<id>/steps/<rev>/objects``: the objects a revision names, each
    with its size and ``signed-geturl``, in one answer."""
    return await hub.get_json(f"/trails/{_q(trail_id)}/steps/{_q(rev)}/objects")


def _one(body: Any) -> dict[str, Any]:
    """Some reference endpoints answer a one-element list where one object is meant."""
    if isinstance(body, list):
        if len(body) != 1:
            raise HubError(f"expected one device in the answer, got {len(body)}")
        return body[0]
    return body
