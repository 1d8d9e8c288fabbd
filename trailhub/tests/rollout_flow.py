"""A pack rollout driven as a user and devices would: over HTTP and a device WebSocket.

Shared by .ci/deployed_smoke.py (gunicorn, uvicorn, a Celery worker and beat
as docs/deployment.md lays them out) and trailhub/tests/test_run.py (`make run`
with a broker): both start the processes, then call ``deliver_rollout``. It
uses the standard library and the runtime requirements only (the smoke runs
without the test tools).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import httpx
import websockets

STATE = {
    "#spec": "pantavisor-service-system@1",
    "bsp/run.json": {"addons": [], "initrd": "pantavisor"},
    "app/config.json": {"version": 0},
}


def ok(response: httpx.Response) -> dict:
    if response.status_code >= 400:
        raise AssertionError(
            f"{response.request.method} {response.request.url} answered "
            f"{response.status_code}: {response.text[:2000]}"
        )
    return response.json() if response.content else {}


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def new_device(api: httpx.Client, owner: str) -> dict:
    """Register anonymously, be claimed by the owner, log in as the device."""
    device = ok(api.post("/devices/", json={}))
    ok(api.put(f"/devices/{device['id']}", params={"challenge": device["challenge"]},
               headers=bearer(owner)))  # fmt: skip
    login = ok(
        api.post("/auth/login", json={"username": device["prn"], "password": device["secret"]})
    )
    device["token"] = login["token"]
    ok(api.post("/trails/", json=STATE, headers=bearer(device["token"])))
    return device


async def hear_revision(ws_url: str, token: str, rev: int, timeout: float) -> None:
    """Hold the device WebSocket until it announces revision ``rev``."""
    async with websockets.connect(f"{ws_url}/ws/device/", additional_headers=bearer(token)) as ws:
        async with asyncio.timeout(timeout):
            while True:
                message = json.loads(await ws.recv())
                if message.get("type") == "revision" and message.get("rev") == rev:
                    return


def post_and_finish_on_leader(api: httpx.Client, owner: str, leader: dict) -> None:
    state = {**STATE, "app/config.json": {"version": 1}}
    step = ok(api.post(f"/trails/{leader['id']}/steps",
                       json={"rev": -1, "commit-msg": "release 1", "state": state},
                       headers=bearer(owner)))  # fmt: skip
    for status in ("QUEUED", "DOWNLOADING", "INPROGRESS", "TESTING", "DONE"):
        ok(api.put(f"/trails/{leader['id']}/steps/{step['rev']}/progress",
                   json={"status": status, "progress": 100 if status == "DONE" else 50,
                         "status-msg": status.lower()},
                   headers=bearer(leader["token"])))  # fmt: skip


def deliver_rollout(
    api: httpx.Client, ws_url: str, password: str, wait_for: Callable[..., object]
) -> list[dict]:
    """As ``demo`` (with ``password``): three devices, a pack of a leader and two followers;
    a revision the leader reaches reaches both followers, and the one holding the device
    WebSocket at ``ws_url`` is told. ``wait_for(what, check, timeout=…)`` polls. Returns
    the followers (``id``, ``token``, …)."""
    owner = ok(api.post("/auth/login", json={"username": "demo", "password": password}))["token"]
    leader, *followers = (new_device(api, owner) for _ in range(3))
    ok(api.post("/packs/", json={"nick": "fleet", "leader": leader["id"]}, headers=bearer(owner)))
    for follower in followers:
        ok(api.put(f"/packs/fleet/followers/{follower['id']}", headers=bearer(owner)))

    async def release() -> None:
        listener = asyncio.create_task(hear_revision(ws_url, followers[0]["token"], 1, 90))
        await asyncio.sleep(1)  # the socket is open before the revision is posted
        await asyncio.to_thread(post_and_finish_on_leader, api, owner, leader)
        await listener

    asyncio.run(release())

    def followers_have_rev_1() -> bool:
        return all(
            max(step["rev"] for step in ok(api.get(
                f"/trails/{f['id']}/steps", headers=bearer(owner)))) == 1
            for f in followers
        )  # fmt: skip

    wait_for("both followers to get revision 1", followers_have_rev_1, timeout=90)
    return followers
