"""End to end: a live hub, a leader and 50 followers simulated by trail-agent, 10% failing.

The canary (the first followers to join: the 5 faulty devices) fails past the
threshold and the rollout pauses before the 45 others get anything. The
faulty devices are fixed (their agent restarts without fault injection), the
owner resumes, and the rollout completes wave after wave. The next release
then goes to all 50 (the canary, then everyone else at once): every follower
ends up running it, DONE.
"""

from __future__ import annotations

import json

import httpx
import pytest

from testsupport.live import Agent, LiveHub, wait_for

# The e2e harness' fixtures: a live server (session-wide) and its owner account.
from trail.tests.e2e.conftest import Person, alice, live  # noqa: F401

pytestmark = pytest.mark.e2e

FAULTY, HEALTHY = 5, 45
# Devices hear of new revisions on the hub's device WebSocket; polling is the fallback.
LISTEN = ("--listen", "--poll-interval", "5")


class Owner:
    """The owner's API client."""

    def __init__(self, hub: LiveHub, person: Person) -> None:
        self.http = httpx.Client(
            base_url=hub.url, headers={"Authorization": f"Bearer {person.token}"}, timeout=30
        )

    def call(self, method: str, path: str, **kwargs):
        response = self.http.request(method, path, **kwargs)
        assert response.status_code == 200, f"{method} {path}: {response.text}"
        return response.json()


def start_fleet(hub, tmp_path, name: str, count: int, token: str, *extra: str) -> Agent:
    args = ["--count", str(count), "--auto-token", token, *LISTEN, *extra]
    return Agent(tmp_path / name, hub.url, *args).start()


def homes(agent: Agent, count: int):
    if count == 1:
        return [agent.home]
    return [agent.home / f"device-{n:04d}" for n in range(1, count + 1)]


def running_factory(agent: Agent, count: int) -> list[str] | None:
    """The devices' ids once every one of them runs its factory revision."""
    ids = []
    for home in homes(agent, count):
        if not (home / "current").is_file() or (home / "current").read_text().strip() != "0":
            return None
        ids.append(json.loads((home / "device.json").read_text())["id"])
    return ids


def test_a_canary_stops_a_bad_wave_and_the_fixed_fleet_converges(live, alice, tmp_path):  # noqa: F811
    hub, owner = live, Owner(live, alice)
    token = owner.call("POST", "/devices/tokens", json={"description": "line 1"})["token"]
    agents = {
        "leader": start_fleet(hub, tmp_path, "leader", 1, token),
        "faulty": start_fleet(hub, tmp_path, "faulty", FAULTY, token, "--fail-share", "1"),
        "healthy": start_fleet(hub, tmp_path, "healthy", HEALTHY, token),
    }
    try:
        counts = {"leader": 1, "faulty": FAULTY, "healthy": HEALTHY}
        ids = {
            name: wait_for(
                f"the {name} devices to run their factory state",
                lambda name=name: running_factory(agents[name], counts[name]),
                timeout=90,
            )
            for name in agents
        }
        leader = ids["leader"][0]
        followers = ids["faulty"] + ids["healthy"]
        pack = owner.call(
            "POST",
            "/packs/",
            json={
                "nick": "fleet",
                "leader": leader,
                "canary-share": 0.1,
                "wave-size": 15,
                "failure-threshold": 0.2,
                "wave-timeout": 600,
            },
        )
        for device in followers:  # join order decides the waves: the faulty ones are the canary
            owner.call("PUT", f"/packs/{pack['id']}/followers/{device}")
        members = owner.call("GET", f"/packs/{pack['id']}")["members"]
        assert [m["id"] for m in members] == [leader, *followers]
        assert all(m["head-rev"] == 0 for m in members)  # same factory state: nothing posted

        factory = owner.call("GET", f"/trails/{leader}/steps/0")["state"]

        def release(version: int) -> dict:
            state = {**factory, "trail-agent/release.json": {"version": version}}
            body = {"rev": -1, "commit-msg": f"release {version}", "state": state}
            return owner.call("POST", f"/trails/{leader}/steps", json=body)

        def rollout_of(rev: int, status: str) -> dict:
            def check():
                body = owner.call("GET", f"/packs/{pack['id']}/rollouts")
                found = [r for r in body if r["leader-rev"] == rev]
                return found[0] if found and found[0]["status"] == status else None

            return wait_for(f"the rollout of rev {rev} to be {status}", check, timeout=90)

        # Release 1: the canary fails past the threshold; nobody else gets it.
        release(1)
        paused = rollout_of(1, "paused")
        assert [w["status"] for w in paused["waves"]] == ["failed", "pending", "pending", "pending"]
        assert [w["size"] for w in paused["waves"]] == [FAULTY, 15, 15, 15]
        assert "over the threshold of 20%" in paused["status-msg"]
        detail = owner.call("GET", f"/packs/{pack['id']}/rollouts/{paused['id']}")
        canary = {d["device"] for d in detail["deliveries"] if d["wave"] == 1}
        assert canary == set(ids["faulty"])
        heads = {m["id"]: m for m in owner.call("GET", f"/packs/{pack['id']}")["members"]}
        assert all(heads[d]["head-rev"] == 0 for d in ids["healthy"])
        for device in ids["faulty"]:
            # Each faulty device tried it, failed its try-boot, and went back to rev 0.
            wait_for(
                f"{device} to run rev 0 again",
                lambda device=device: (
                    owner.call("GET", f"/trails/{device}/steps/1")["progress"]["status"] == "ERROR"
                ),
            )
            assert heads[device]["running-rev"] == 0

        # The fix: the faulty devices run again without the fault; the owner resumes.
        agents["faulty"].stop()
        agents["faulty"] = start_fleet(hub, tmp_path, "faulty", FAULTY, token)
        owner.call("POST", f"/packs/{pack['id']}/rollouts/{paused['id']}/resume")
        done = rollout_of(1, "completed")
        assert [w["status"] for w in done["waves"]] == ["failed", "passed", "passed", "passed"]
        assert done["counts"] == {"ok": HEALTHY, "failed": FAULTY, "cancelled": 0, "waiting": 0}
        # Nobody is left without a running DONE revision: the canary went back to rev 0.
        running = {
            m["id"]: m["running-rev"] for m in owner.call("GET", f"/packs/{pack['id']}")["members"]
        }
        assert {running[d] for d in ids["faulty"]} == {0}
        assert {running[d] for d in ids["healthy"]} == {1}

        # Release 2 goes to everyone, the fixed canary first, then all the others at once.
        owner.call("PATCH", f"/packs/{pack['id']}", json={"wave-size": 0})
        second = release(2)
        done = rollout_of(2, "completed")
        assert [(w["kind"], w["status"], w["size"]) for w in done["waves"]] == [
            ("canary", "passed", FAULTY),
            ("batch", "passed", HEALTHY),
        ]
        body = owner.call("GET", f"/packs/{pack['id']}")
        assert body["counts"] == {"DONE": FAULTY + HEALTHY}
        for member in body["members"][1:]:
            assert member["running-rev"] == member["head-rev"] == 2, member
            assert member["head-status"] == "DONE"
            step = owner.call("GET", f"/trails/{member['id']}/steps/2")
            assert step["state-sha"] == second["state-sha"]
        for agent in agents.values():
            assert agent.alive(), agent.text()[-2000:]
    finally:
        for agent in agents.values():
            agent.stop()
