"""A pack's page in a real browser: members, counts and the rollout follow the devices live."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

# The community browser harness: Debian's chromium, a live hub, trail-agent devices.
from community.tests.browser.conftest import (  # noqa: F401
    PASSWORD,
    browser_context_args,
    browser_type_launch_args,
    claim,
    device,
    hub,
    log_in,
    shoot,
    start_agent,
    step,
)
from testsupport.live import wait_for

pytestmark = pytest.mark.e2e

LIVE = 30_000  # ms: how long a live update may take (devices installing a revision)


def test_the_pack_page_follows_a_rollout_live(page, hub, start_agent, shoot):  # noqa: F811
    token = hub.signup("pia", PASSWORD)
    api = httpx.Client(base_url=hub.url, headers={"Authorization": f"Bearer {token}"})
    leader, follower = start_agent("leader"), start_agent("follower")
    for agent in (leader, follower):
        claim(hub, token, agent)
        wait_for("the factory revision", lambda a=agent: step(hub, token, a.id, 0), timeout=60)
    pack = api.post("/packs/", json={"nick": "lab", "leader": leader.id}).json()
    assert api.put(f"/packs/{pack['id']}/followers/{follower.id}").status_code == 200

    log_in(page, hub, "pia")
    page.goto(f"{hub.url}/dashboard/packs/{pack['id']}/")
    expect(page.locator('[data-field="live-label"]')).to_have_text("live", timeout=10_000)
    row = page.locator(f'tr[data-device="{follower.id}"]')
    expect(row.locator('[data-field="head-rev"]')).to_have_text("0")
    expect(page.locator('[data-count="DONE"]')).to_contain_text("1")
    page.evaluate("window.__sameDocument = true")

    # A release on the leader: it installs it, then the follower gets it and installs it.
    state = step(hub, token, leader.id, 0)["state"]
    body = {"rev": -1, "commit-msg": "release 1", "state": {**state, "app/v.json": {"v": 1}}}
    assert api.post(f"/trails/{leader.id}/steps", json=body).status_code == 200

    expect(row.locator('[data-field="head-rev"]')).to_have_text("1", timeout=LIVE)
    expect(row.locator('[data-field="head-status"]')).to_have_text("DONE", timeout=LIVE)
    expect(row.locator('[data-field="running"]')).to_have_text("rev 1", timeout=LIVE)
    leader_row = page.locator(f'tr[data-device="{leader.id}"]')
    expect(leader_row.locator('[data-field="running"]')).to_have_text("rev 1")
    # The counts and the rollouts are fetched again from the server, still without a reload.
    past = page.locator('[data-field="past-rollouts"] .rollout').first
    expect(past).to_contain_text("release 1", timeout=LIVE)
    expect(past.locator('[data-field="rollout-status"]')).to_have_text("completed")
    expect(page.locator('[data-field="rollout"]')).to_contain_text("None")
    expect(page.locator('[data-count="DONE"]')).to_contain_text("1")
    assert page.evaluate("window.__sameDocument") is True
    shoot(page, "packs-01-pack-page")
