"""Pages that must not lie, in a real browser (issue 21 items 3-5), with screenshots.

No trail-agent here: the fleet is written straight through the services in a
``manage.py shell`` against the live hub's database (its Celery is eager), so
the test takes seconds. The pages are then read as the owner reads them.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from community.tests.browser.conftest import (  # noqa: F401
    PASSWORD,
    browser_context_args,
    browser_type_launch_args,
    device,
    hub,
    log_in,
    shell,
    shoot,
)

pytestmark = pytest.mark.e2e

#: A leader without hardware and three followers: the canary fails, the owner resumes,
#: the other two install the revision. Prints the pack's id.
FLEET = """
from devices.models import Device, new_secret
from django.contrib.auth import get_user_model
from packs import services as packs
from packs.models import Rollout
from packs.tests.helpers import head, state
from revisions import services as revisions
from trail import status as st

owner = get_user_model().objects.get(username="vic")

def device(nick, hardware=True):
    made = Device(owner=owner, has_hardware=hardware)
    made.nick, made.secret = nick, new_secret()
    made.set_secret(made.secret)
    made.save()
    revisions.create_trail(made, state(0))
    return made

leader = device("kiosk-template", hardware=False)
followers = [device(f"kiosk-{n}") for n in range(1, 4)]
pack = packs.create_pack(owner, nick="lobby", leader=leader, canary_share=0.3, wave_size=2)
for follower in followers:
    packs.add_follower(pack, follower)
release = revisions.post_step(
    leader.trail, state(2), commit_msg="new lobby screen", author=owner
)
canary = head(followers[0])
revisions.report_progress(canary, st.INPROGRESS, progress=60)
revisions.report_progress(canary, st.ERROR, progress=100, status_msg="try-boot failed")
packs.resume(Rollout.objects.get(leader_step=release))
for follower in followers[1:]:
    revisions.report_progress(head(follower), st.DONE, progress=100)
print(pack.id)
"""


def test_failures_read_as_failures(page, hub, shoot):  # noqa: F811
    hub.signup("vic", PASSWORD)
    pack_id = shell(hub, FLEET).split()[-1]
    log_in(page, hub, "vic")

    # The pack page after a failed wave was resumed: not "every wave passed".
    page.goto(f"{hub.url}/dashboard/packs/{pack_id}/")
    release = page.locator(".rollout", has_text="new lobby screen")
    expect(release.locator('[data-field="rollout-msg"]')).to_contain_text(
        "completed with 1 device failed"
    )
    expect(release.locator('[data-field="rollout-msg"]')).to_contain_text(
        "wave 1 failed and the owner resumed"
    )
    expect(release.locator('[data-field="rollout-status"]')).to_have_class("badge bad")
    expect(page.locator('[data-field="failed-followers"]')).to_contain_text(
        "1 follower's newest revision failed (ERROR 1)"
    )
    expect(page.get_by_text("every follower has the leader's newest revision")).to_have_count(0)
    shoot(page, "pages-01-pack-after-resumed-failed-wave")

    # The failed follower: a red bar that says ERROR, and no roll back on the failed revision.
    page.goto(f"{hub.url}/u/vic/kiosk-1/")
    bar = page.locator('[data-field="head-progress"]')
    expect(bar).to_have_class("progress bad")
    expect(bar).to_have_attribute("aria-valuetext", "ERROR 100%")
    shoot(page, "pages-02a-failed-device-overview")
    page.goto(f"{hub.url}/u/vic/kiosk-1/revisions/1/")
    expect(page.locator('[data-field="status"]').first).to_have_text("ERROR")
    expect(page.get_by_text("Roll back to this revision")).to_have_count(0)
    shoot(page, "pages-02-failed-revision")

    # The revision that worked offers it, and asks first.
    page.goto(f"{hub.url}/u/vic/kiosk-1/revisions/0/")
    page.click("text=Roll back to this revision")
    page.wait_for_url(f"{hub.url}/u/vic/kiosk-1/revisions/0/rollback/")
    expect(page.locator("h1")).to_have_text("Roll kiosk-1 back to revision 0?")
    shoot(page, "pages-03-rollback-confirmation")
    page.click("text=Roll back to revision 0")
    page.wait_for_url(f"{hub.url}/u/vic/kiosk-1/revisions/2/")

    # The template leader's revision is a template, not a pending NEW.
    page.goto(f"{hub.url}/u/vic/kiosk-template/")
    expect(page.locator('[data-field="head-status"]')).to_have_text("template")

    # Deleting the pack asks first, too.
    page.goto(f"{hub.url}/dashboard/packs/{pack_id}/")
    page.click("text=Delete pack lobby…")
    expect(page.locator("h1")).to_have_text("Delete pack lobby?")
    shoot(page, "pages-04-delete-pack-confirmation")
