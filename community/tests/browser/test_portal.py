"""The portal in a real browser, with real devices (trail-agent) and the trail CLI."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import expect

from community.tests.browser.conftest import PASSWORD, claim, log_in, step
from testsupport.live import wait_for

pytestmark = pytest.mark.e2e

LIVE = 30_000  # ms: how long a live update may take (a device installing a revision)


def sign_up(page, hub, nick: str) -> None:
    page.goto(f"{hub.url}/accounts/signup/")
    page.fill("input[name=username]", nick)
    page.fill("input[name=email]", f"{nick}@example.com")
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{hub.url}/dashboard/")


def wait_live(page) -> None:
    """The page's WebSocket is open: what is posted from now on shows up."""
    expect(page.locator('[data-field="live-label"]')).to_have_text("live", timeout=10_000)


def test_a_person_claims_a_device_posts_a_revision_and_rolls_back(
    page, hub, start_agent, trail_cli, shoot, tmp_path
):
    sign_up(page, hub, "erin")
    shoot(page, "01-dashboard-empty")

    # A device boots and prints its id and challenge; erin claims it from the dashboard.
    device = start_agent("kiosk")
    page.fill("form.claim-form input[name=device_id]", device.id)
    page.fill("form.claim-form input[name=challenge]", device.challenge)
    page.click("form.claim-form button[type=submit]")
    page.wait_for_url(f"{hub.url}/dashboard/")
    row = page.locator(f'tr[data-device="{device.id}"]')
    expect(row).to_be_visible()
    wait_live(page)
    # Once claimed, the device posts its factory state: revision 0 arrives without a reload.
    expect(row.locator('[data-field="head-rev"]')).to_have_text("0", timeout=LIVE)
    expect(row.locator('[data-field="head-status"]')).to_have_text("DONE")
    shoot(page, "02-dashboard-claimed")

    row.locator("a").first.click()
    page.wait_for_url(re.compile(r".*/u/erin/[^/]+/$"))
    device_url = page.url
    nick = device_url.rstrip("/").rsplit("/", 1)[1]
    wait_live(page)
    page.evaluate("window.__sameDocument = true")

    # Post a revision with the CLI: a new platform with an object.
    trail_cli("login", "--username", "erin", "--password-stdin", stdin=PASSWORD + "\n")
    trail_cli("clone", f"{hub.url}/u/erin/{nick}", "wc")
    work = tmp_path / "wc"
    (work / "hello").mkdir()
    (work / "hello" / "run.json").write_text(
        '{"#spec": "service-manifest-run@1", "name": "hello", "root-volume": "root.squashfs"}'
    )
    (work / "hello" / "root.squashfs").write_bytes(b"hello platform root filesystem\n" * 64)
    trail_cli("add", "hello", cwd=work)
    trail_cli("commit", "-m", "Add the <hello> platform", cwd=work)
    trail_cli("post", cwd=work)

    # The page follows revision 1 to DONE live.
    head = page.locator('[data-field="head-rev"]')
    expect(head).to_have_text("1", timeout=LIVE)
    expect(page.locator('[data-field="head-status"]')).to_have_text("DONE", timeout=LIVE)
    expect(page.locator('[data-field="running"]')).to_have_text("rev 1", timeout=LIVE)
    expect(page.locator('tr[data-rev="1"] td.msg')).to_have_text("Add the <hello> platform")
    assert page.evaluate("window.__sameDocument") is True  # no reload happened
    page.reload()
    expect(page.locator(".platforms")).to_contain_text("hello")
    shoot(page, "03-device-overview")

    page.goto(f"{device_url}revisions/1/")
    page.locator("li.dir > details > summary", has_text="hello/").click()
    expect(page.locator("li.object", has_text="root.squashfs").first).to_contain_text("download")
    shoot(page, "04-revision-tree")
    page.goto(f"{device_url}diff/?a=0&b=1")
    expect(page.locator(".diff-file.added").first).to_be_visible()
    shoot(page, "05-diff")

    # Follow the device's logs in a second tab while rolling back.
    logs = page.context.new_page()
    logs.goto(f"{device_url}logs/")
    wait_live(logs)

    # Roll back to revision 0 from its page: a new revision 2 with that state.
    page.goto(f"{device_url}revisions/0/")
    wait_live(page)
    page.click("text=Roll back to this revision")
    page.wait_for_url(f"{device_url}revisions/0/rollback/")  # it asks first
    page.click("text=Roll back to revision 0")
    page.wait_for_url(f"{device_url}revisions/2/")
    wait_live(page)
    expect(page.locator('[data-live-rev="2"]')).to_have_text("DONE", timeout=LIVE)
    token = hub.login("erin", PASSWORD)
    assert (
        step(hub, token, device.id, 2)["state-sha"] == step(hub, token, device.id, 0)["state-sha"]
    )
    page.goto(f"{device_url}revisions/")
    shoot(page, "06-revision-history")
    page.goto(f"{device_url}settings/")
    shoot(page, "07-settings")
    page.goto(f"{device_url}meta/")
    shoot(page, "08-metadata")
    # The device's own report of revision 2 arrived in the log tail without a reload.
    expect(logs.locator(".logs .line", has_text="rev 2: DONE")).to_be_visible(timeout=LIVE)
    shoot(logs, "09-logs")
    logs.close()
    page.goto(f"{hub.url}/dashboard/")
    expect(row.locator('[data-field="head-rev"]')).to_have_text("2")
    shoot(page, "10-dashboard")


def test_another_person_stars_and_forks_a_public_device(browser, hub, start_agent, shoot):
    token = hub.signup("carol", PASSWORD)
    device = start_agent("carols")
    claim(hub, token, device)
    wait_for("the factory revision", lambda: step(hub, token, device.id, 0), timeout=30)
    nick = hub.get(f"/devices/{device.id}", token)["nick"]
    httpx.patch(
        f"{hub.url}/devices/{device.id}",
        json={"description": "Carol's kiosk: <b>cloudflare</b> and awconnect"},
        headers={"Authorization": f"Bearer {token}"},
    ).raise_for_status()
    httpx.put(
        f"{hub.url}/devices/{device.id}/public", headers={"Authorization": f"Bearer {token}"}
    ).raise_for_status()

    hub.signup("dave", PASSWORD)
    page = browser.new_context(viewport={"width": 1280, "height": 860}).new_page()
    log_in(page, hub, "dave")
    page.goto(f"{hub.url}/explore/?q=cloudflare")
    card = page.locator(".device-card", has_text=nick)
    expect(card).to_be_visible()
    expect(card.locator(".description")).to_contain_text("<b>cloudflare</b>")  # escaped, as text
    shoot(page, "11-explore")

    card.locator("a.device-name").click()
    page.wait_for_url(f"{hub.url}/u/carol/{nick}/")
    page.click("button:has-text('Star')")
    expect(page.locator("button.starred")).to_contain_text("Starred 1")

    page.click("a:has-text('Fork')")
    page.wait_for_url(f"{hub.url}/u/carol/{nick}/revisions/0/fork/")
    shoot(page, "12-fork-form")
    page.fill("input[name=nick]", "daves-kiosk")
    page.click("form.fork-form button[type=submit]")
    page.wait_for_url(f"{hub.url}/u/dave/daves-kiosk/revisions/0/")
    expect(page.locator(".lineage").first).to_contain_text(f"forked from carol/{nick} at rev 0")
    page.goto(f"{hub.url}/u/dave/daves-kiosk/")
    expect(page.locator(".presence").first).to_have_text("template")
    shoot(page, "13-forked-device")

    page.goto(f"{hub.url}/u/carol/{nick}/")
    expect(page.locator('[data-field="fork-count"]')).to_have_text("1")
    shoot(page, "14-public-device-starred")
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    shoot(page, "14b-public-device-phone")
    page.set_viewport_size({"width": 1280, "height": 860})
    page.goto(f"{hub.url}/u/dave/")
    expect(page.locator(".cards").last).to_contain_text(nick)  # starred
    shoot(page, "15-profile")
    page.goto(f"{hub.url}/")
    shoot(page, "16-home")
    page.context.close()


def test_another_person_cannot_open_a_private_device(browser, hub, start_agent, shoot):
    token = hub.signup("frank", PASSWORD)
    device = start_agent("franks")
    claim(hub, token, device)
    nick = hub.get(f"/devices/{device.id}", token)["nick"]
    hub.signup("grace", PASSWORD)

    page = browser.new_context().new_page()
    log_in(page, hub, "grace")
    for path in ("", "revisions/", "revisions/0/", "settings/"):
        response = page.goto(f"{hub.url}/u/frank/{nick}/{path}")
        assert response.status == 404, path
    shoot(page, "17-private-device-404")
    # The live socket is refused too.
    opened = page.evaluate(
        """id => new Promise(done => {
            const socket = new WebSocket(`ws://${location.host}/ws/devices/${id}/`);
            socket.onopen = () => done(true);
            socket.onclose = () => done(false);
        })""",
        device.id,
    )
    assert opened is False
    page.context.close()

    owner = browser.new_context().new_page()
    log_in(owner, hub, "frank")
    assert owner.goto(f"{hub.url}/u/frank/{nick}/").status == 200
    owner.context.close()
