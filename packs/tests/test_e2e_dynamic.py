"""End to end: a live hub and two devices simulated by trail-agent. The owner tags a
device; it joins the dynamic pack whose rule names the tag and, inside the pack's
maintenance window, receives the leader's revision and runs it (issue 24 items 6, 7).
"""

from __future__ import annotations

import datetime as dt

import pytest

from packs.tests.test_e2e_rollout import Owner, running_factory, start_fleet
from testsupport.live import wait_for

# The e2e harness' fixtures: a live server (session-wide) and its owner account.
from trail.tests.e2e.conftest import alice, live  # noqa: F401

pytestmark = pytest.mark.e2e


def window(now: dt.datetime, holding: bool) -> list[dict]:
    """A window (UTC) holding ``now`` with an hour's margin either side, or one twelve
    hours away."""
    days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    start, end = (now.hour - 1) % 24, (now.hour + 2) % 24
    if not holding:
        start, end = (start + 12) % 24, (end + 12) % 24
    return [{"days": days, "from": f"{start:02d}:00", "to": f"{end:02d}:00"}]


def test_a_tagged_device_joins_a_dynamic_pack_and_runs_the_leaders_revision(live, alice, tmp_path):  # noqa: F811
    hub, owner = live, Owner(live, alice)
    token = owner.call("POST", "/devices/tokens", json={"description": "tags"})["token"]
    agents = {
        "leader": start_fleet(hub, tmp_path, "leader", 1, token),
        "kiosk": start_fleet(hub, tmp_path, "kiosk", 1, token),
    }
    try:
        leader, kiosk = (
            wait_for(
                f"the {name} to run its factory state",
                lambda name=name: running_factory(agents[name], 1),
                timeout=90,
            )[0]
            for name in ("leader", "kiosk")
        )
        pack = owner.call(
            "POST",
            "/packs/",
            json={
                "nick": "kiosks",
                "leader": leader,
                "rule": {"tags": {"all": ["kiosk"]}},
                "windows": window(dt.datetime.now(dt.UTC), holding=False),
                "timezone": "UTC",
            },
        )
        assert pack["follower-count"] == 0 and pack["next-wave-at"] is not None
        factory = owner.call("GET", f"/trails/{leader}/steps/0")["state"]
        state = {**factory, "trail-agent/release.json": {"version": 1}}
        release = owner.call(
            "POST",
            f"/trails/{leader}/steps",
            json={"rev": -1, "commit-msg": "release 1", "state": state},
        )
        wait_for(
            "the leader to run rev 1",
            lambda: owner.call("GET", f"/trails/{leader}/steps/1")["progress"]["status"] == "DONE",
            timeout=90,
        )
        # Not a follower yet: no revision after its factory one.
        assert owner.http.get(f"/trails/{kiosk}/steps/1").status_code == 404

        assert owner.call("PUT", f"/devices/{kiosk}/tags", json=["Kiosk"]) == ["kiosk"]
        members = owner.call("GET", f"/packs/{pack['id']}")["members"]
        assert [m["id"] for m in members] == [leader, kiosk]
        # It joined outside the window: its catch-up waits (decided inside the PUT).
        assert owner.http.get(f"/trails/{kiosk}/steps/1").status_code == 404
        rollout = owner.call("GET", f"/packs/{pack['id']}/rollouts")[0]
        held = owner.call("GET", f"/packs/{pack['id']}/rollouts/{rollout['id']}")["deliveries"]
        assert [(d["device"], d["status"], d["error"]) for d in held] == [
            (kiosk, "pending", "waiting for a maintenance window")
        ]

        # The window opens (the owner moves it to now); reading the pack releases it,
        # as the beat's sweep does.
        now = dt.datetime.now(dt.UTC)
        owner.call("PATCH", f"/packs/{pack['id']}", json={"windows": window(now, holding=True)})
        owner.call("GET", f"/packs/{pack['id']}")

        def runs_the_release():
            answer = owner.http.get(f"/trails/{kiosk}/steps/1")
            step = answer.json() if answer.status_code == 200 else None
            return step if step and step["progress"]["status"] == "DONE" else None

        step = wait_for(
            "the tagged device to run the leader's revision", runs_the_release, timeout=90
        )
        assert step["state-sha"] == release["state-sha"]
        assert "[pack kiosks: " in step["commit-msg"]
        home = agents["kiosk"].home
        assert (home / "current").read_text().strip() == str(step["rev"])
        for agent in agents.values():
            assert agent.alive(), agent.text()[-2000:]
    finally:
        for agent in agents.values():
            agent.stop()
