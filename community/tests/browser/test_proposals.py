"""A revision proposal in a real browser: the Proposals tab, the proposal's line diff, the
owner's Merge button, and the proposer's dashboard (screenshots proposal.png and
dashboard-proposals.png for a reviewer)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from community.tests.browser.conftest import SEED_PRELUDE, log_in, shell

pytestmark = pytest.mark.e2e

#: rita's public kiosk; sam's fork of it with a new hostname, proposed back as #1.
SEED = (
    SEED_PRELUDE
    + """
from community.services import proposals

rita, sam = people["rita"], people["sam"]
kiosk = public_device(rita, "kiosk")
state = {
    "#spec": "pantavisor-service-system@1",
    "bsp/run.json": {"addons": [], "linux": "kernel.img"},
    "bsp/kernel.img": upload(rita, b"kernel"),
    "_config/pv-avahi/etc/hostname": upload(rita, b"kiosk\\nlocal\\n"),
    "device.json": {"groups": ["kiosks"]},
}
trail = revisions.create_trail(kiosk, state)
step = trail.steps.get(rev=0)
forked = community.fork(sam, kiosk, step, nick="my-kiosk")
mine = forked.trail
changed = copy.deepcopy(state)
changed["_config/pv-avahi/etc/hostname"] = upload(sam, b"lobby-kiosk\\nlocal\\n")
changed["device.json"] = {"groups": ["kiosks", "lobby"]}
proposed = revisions.post_step(mine, changed, author=sam, commit_msg="name it")
proposals.open_proposal(sam, kiosk, proposed, "Name the lobby kiosk", "So we find it on the LAN.")
"""
)


@pytest.fixture(scope="module")
def seeded(hub):
    for nick in ("rita", "sam"):
        hub.signup(nick, "a long browser pass phrase")
    shell(hub, SEED)
    return f"{hub.url}/u/rita/kiosk/"


def test_the_owner_reads_a_proposal_and_merges_it(browser, hub, seeded, shoot):
    page = browser.new_page()
    log_in(page, hub, "rita")
    page.goto(seeded)
    page.get_by_role("link", name="Proposals").click()
    expect(page.locator("[data-field=proposals]")).to_contain_text("Name the lobby kiosk")
    page.get_by_role("link", name="Name the lobby kiosk").click()
    expect(page.locator("[data-field=mergeable]")).to_have_text("Merges cleanly into rev 0.")
    hostname = page.locator('section.diff-file[data-key="_config/pv-avahi/etc/hostname"]')
    expect(hostname.locator(".l.ins")).to_have_text("+lobby-kiosk")
    expect(hostname.locator(".l.del")).to_have_text("-kiosk")
    shoot(page, "proposal")
    page.get_by_role("button", name="Merge as rev 1").click()
    page.wait_for_url(f"{seeded}revisions/1/")
    expect(page.locator("body")).to_contain_text("Merge proposal #1: Name the lobby kiosk")
    page.close()

    page = browser.new_page()
    log_in(page, hub, "sam")
    proposals = page.locator("[data-field=my-proposals]")
    expect(proposals).to_contain_text("rita/kiosk")
    expect(proposals).to_contain_text("merged as rev 1")
    shoot(page, "dashboard-proposals")
    page.close()


#: ursula's public gate; victor's fork of it renamed, and two upstream revisions since,
#: the second renaming it otherwise.
UPSTREAM_SEED = (
    SEED_PRELUDE
    + """
ursula, victor = people["ursula"], people["victor"]
gate = public_device(ursula, "gate")
state = {
    "#spec": "pantavisor-service-system@1",
    "bsp/run.json": {"addons": [], "linux": "kernel.img"},
    "bsp/kernel.img": upload(ursula, b"kernel"),
    "_config/pv-avahi/etc/hostname": upload(ursula, b"gate\\n"),
    "device.json": {"groups": ["gates"]},
}
trail = revisions.create_trail(gate, state)
forked = community.fork(victor, gate, trail.steps.get(rev=0), nick="my-gate")
mine = copy.deepcopy(state)
mine["_config/pv-avahi/etc/hostname"] = upload(victor, b"north-gate\\n")
revisions.post_step(forked.trail, mine, author=victor, commit_msg="north")
grouped = copy.deepcopy(state)
grouped["device.json"] = {"groups": ["gates", "outdoor"]}
revisions.post_step(trail, grouped, author=ursula, commit_msg="outdoor")
renamed = copy.deepcopy(grouped)
renamed["_config/pv-avahi/etc/hostname"] = upload(ursula, b"main-gate\\n")
revisions.post_step(trail, renamed, author=ursula, commit_msg="main")
"""
)


def test_a_fork_behind_upstream_shows_the_conflicts_and_how_to_resolve_them(browser, hub, shoot):
    for nick in ("ursula", "victor"):
        hub.signup(nick, "a long browser pass phrase")
    shell(hub, UPSTREAM_SEED)
    page = browser.new_page()
    log_in(page, hub, "victor")
    page.goto(f"{hub.url}/u/victor/my-gate/")
    card = page.locator("[data-field=upstream]")
    expect(card.locator("[data-field=behind]")).to_have_text("2 revisions behind upstream")
    conflicts = card.locator("[data-field=conflicts]")
    expect(conflicts).to_contain_text("/_config~1pv-avahi~1etc~1hostname")
    expect(card).to_contain_text("trail pull --upstream")
    expect(card.get_by_role("button", name="Merge upstream rev 2")).to_have_count(0)
    shoot(page, "upstream-conflicts")
    page.close()
