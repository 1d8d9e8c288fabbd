"""The dashboard for a fleet in a real browser (issue 21 item 6), with screenshots.

55 devices are written straight through the services in a ``manage.py shell``
against the live hub's database (as packs/tests/browser/test_failures.py does),
then filtered, paged and changed in bulk as their owner would.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from playwright.sync_api import expect

from community.tests.browser.conftest import PASSWORD, REPO, log_in

pytestmark = pytest.mark.e2e

#: 40 gateways (every 8th failed its newest revision, every 8th from the 3rd is
#: downloading one; the odd ones were seen a moment ago), 14 cameras never seen (one
#: without any revision), and a template leading the pack "gateways" that the first
#: five gateways follow (so they have its revision, NEW, to install).
FLEET = """
import datetime as dt

from django.contrib.auth import get_user_model
from django.utils import timezone

from devices.models import Device, new_secret
from packs import services as packs
from packs.tests.helpers import head, state
from revisions import services as revisions
from trail import status as st

owner = get_user_model().objects.get(username="olga")
now = timezone.now()

def device(nick, hardware=True, seen=None, meta=None, revision=True):
    made = Device(owner=owner, nick=nick, has_hardware=hardware, last_seen=seen,
                  device_meta=meta or {})
    made.set_secret(new_secret())
    made.save()
    if revision:
        revisions.create_trail(made, state(0))
    return made

gateways = []
for n in range(1, 41):
    seen = now if n % 2 else now - dt.timedelta(hours=2)
    gateway = device(f"gateway-{n:02d}", seen=seen, meta={"arch": "arm64", "board": "rpi4"})
    if n % 8 in (0, 3):
        step = revisions.post_step(gateway.trail, state(n), commit_msg="kiosk app 2.1", author=owner)
        revisions.report_progress(step, st.DOWNLOADING, progress=40)
        if n % 8 == 0:
            revisions.report_progress(step, st.ERROR, progress=100, status_msg="bad checksum")
    gateways.append(gateway)
for n in range(1, 15):
    device(f"camera-{n:02d}", meta={"arch": "x86_64"}, revision=n != 14)
template = device("gateway-template", hardware=False)
pack = packs.create_pack(owner, nick="gateways", leader=template)
for gateway in gateways[:5]:
    packs.add_follower(pack, gateway)
print(pack.id)
"""


def test_a_fleet_is_filtered_paged_and_changed_in_bulk(page, hub, shoot):
    hub.signup("olga", PASSWORD)
    seeded = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", FLEET],
        cwd=REPO,
        env=hub.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert seeded.returncode == 0, seeded.stderr
    pack_id = seeded.stdout.split()[-1]
    log_in(page, hub, "olga")

    # All 55, 50 a page, counted by the status of their newest revision.
    counts = page.locator('[data-field="status-counts"]')
    expect(counts.locator('[data-count="all"] strong')).to_have_text("55")
    expect(counts.locator('[data-count="ERROR"] strong')).to_have_text("5")
    expect(counts.locator('[data-count="none"] strong')).to_have_text("1")
    expect(counts).to_contain_text("1–50 of 55")
    expect(page.locator("tbody tr")).to_have_count(50)
    page.get_by_role("link", name="Next →").click()
    expect(page.locator("tbody tr")).to_have_count(5)

    # Search and filter: the gateways seen lately; then the count of the failed ones.
    filters = page.locator("form[data-fleet-filters]")
    filters.locator("input[name=q]").fill("rpi4")
    filters.locator("select[name=presence]").select_option("offline")
    filters.locator("button[type=submit]").click()
    expect(page).to_have_url(f"{hub.url}/dashboard/?q=rpi4&presence=offline")
    expect(counts.locator('[data-count="all"] strong')).to_have_text("20")
    counts.locator('[data-count="ERROR"]').click()
    expect(page).to_have_url(f"{hub.url}/dashboard/?q=rpi4&presence=offline&status=ERROR")
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(5)
    expect(counts.locator('[data-count="ERROR"]')).to_have_class("active")
    for nick in ("gateway-08", "gateway-16", "gateway-24", "gateway-32", "gateway-40"):
        row = page.locator("tbody tr", has_text=nick)
        expect(row.locator('[data-field="head-status"]')).to_have_text("ERROR")
        expect(row.locator('[data-field="presence"]')).to_have_text("offline")
        expect(row.locator('[data-field="seen"]')).to_have_text(re.compile(r"2\shours ago"))
    expect(filters.locator("input[name=q]")).to_have_value("rpi4")
    shoot(page, "dashboard-filters")
    filtered = page.url

    # Bulk: every device of the page made public, after a confirmation.
    page.locator("[data-select-all]").check()
    expect(page.locator('[data-field="selected"]')).to_have_text("5 selected")
    page.locator("form[data-fleet-bulk] select[name=action]").select_option("public")
    expect(page.locator("form[data-fleet-bulk] select[name=pack]")).to_be_hidden()
    page.get_by_role("button", name="Apply to the selected devices").click()
    expect(page.locator("h1")).to_have_text("Make 5 devices public?")
    shoot(page, "dashboard-bulk-confirmation")
    page.get_by_role("button", name="Make 5 devices public").click()
    expect(page).to_have_url(filtered)
    expect(page.locator(".messages")).to_contain_text("are public now")
    expect(page.locator("tbody tr .badge", has_text="public")).to_have_count(5)

    # One device into the pack: done at once. It catches up to the leader's revision, so
    # its newest revision is no longer the failed one: it leaves this filtered list.
    page.locator('tbody tr:has-text("gateway-08") input[name=device]').check()
    page.locator("form[data-fleet-bulk] select[name=action]").select_option("pack")
    page.locator("form[data-fleet-bulk] select[name=pack]").select_option(label="gateways")
    page.get_by_role("button", name="Apply to the selected devices").click()
    expect(page).to_have_url(filtered)
    expect(page.locator(".messages")).to_contain_text("gateway-08 now follows gateways.")
    expect(rows).to_have_count(4)
    page.goto(f"{hub.url}/dashboard/?q=gateway-08")
    row = page.locator("tbody tr", has_text="gateway-08")
    pack_cell = row.locator('[data-field="pack"]')
    expect(pack_cell.locator(f'a[href="/dashboard/packs/{pack_id}/"]')).to_have_text("gateways")
    expect(row.locator('[data-field="head-status"]')).not_to_have_text("ERROR")
