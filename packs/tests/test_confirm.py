"""Destructive pack actions ask first (issue 21 item 5): a GET shows what will happen and
changes nothing, the page's POST does it. No script: plain links and forms."""

from __future__ import annotations

import re

import pytest

from packs import rollout as ro
from packs.models import Pack, PackMember, Rollout
from packs.tests.helpers import head
from trail import status as st


@pytest.fixture
def paused(pack, post, report):
    followers = [m.device for m in PackMember.objects.filter(pack=pack).select_related("device")]
    post(pack.leader, 2)
    report(head(followers[0]), st.ERROR)
    return Rollout.objects.get(status=ro.PAUSED)


def confirm_form(html: str) -> str:
    """The one POST form of a confirmation page."""
    [form] = re.findall(r'<form method="post"[^>]*>.*?</form>', html.split("data-confirm")[1], re.S)
    return form


def test_the_pack_page_links_to_confirmations_not_to_posts(pages, pack, paused):
    html = pages.get(f"/dashboard/packs/{pack.id}/").content.decode()
    base = f"/dashboard/packs/{pack.id}"
    assert f'<a class="button danger" href="{base}/delete/">' in html
    assert f'href="{base}/rollouts/{paused.id}/abort/"' in html
    assert f'<form method="get" action="{base}/rollouts/{paused.id}/revert/"' in html
    for action in ("delete/", "abort/", "revert/", "/remove/"):
        assert not re.search(rf'<form method="post" action="[^"]*{re.escape(action)}"', html)


def test_deleting_a_pack_asks_first(pages, pack, committed):
    page = pages.get(f"/dashboard/packs/{pack.id}/delete/")
    html = page.content.decode()
    assert page.status_code == 200 and "Delete pack fleet?" in html
    assert "every device keeps the revisions it has" in html
    assert "Delete pack fleet</button>" in confirm_form(html)
    assert Pack.objects.filter(pk=pack.pk).exists()
    committed(pages.post, f"/dashboard/packs/{pack.id}/delete/")
    assert not Pack.objects.filter(pk=pack.pk).exists()


def test_removing_a_follower_asks_first(pages, pack, committed):
    member = PackMember.objects.filter(pack=pack).select_related("device").first()
    url = f"/dashboard/packs/{pack.id}/followers/{member.device_id}/remove/"
    html = pages.get(url).content.decode()
    assert f"Remove {member.device.nick} from fleet?" in html
    assert "what it has stays" in html
    assert PackMember.objects.filter(pk=member.pk).exists()
    committed(pages.post, url)
    assert not PackMember.objects.filter(pk=member.pk).exists()


def test_aborting_a_rollout_asks_first(pages, pack, paused, committed):
    url = f"/dashboard/packs/{pack.id}/rollouts/{paused.id}/abort/"
    html = pages.get(url).content.decode()
    assert "Abort the rollout of leader rev 1?" in html
    assert "Abort the rollout</button>" in confirm_form(html)
    paused.refresh_from_db()
    assert paused.status == ro.PAUSED
    committed(pages.post, url)
    paused.refresh_from_db()
    assert paused.status == ro.ABORTED


def test_reverting_a_wave_asks_first_and_keeps_the_wave(pages, pack, paused, committed):
    url = f"/dashboard/packs/{pack.id}/rollouts/{paused.id}/revert/"
    html = pages.get(url, {"wave": "1"}).content.decode()
    assert "Revert wave 1 of leader rev 1?" in html
    form = confirm_form(html)
    assert '<input type="hidden" name="wave" value="1">' in form
    paused.refresh_from_db()
    assert paused.status == ro.PAUSED
    committed(pages.post, url, {"wave": "1"})
    paused.refresh_from_db()
    assert paused.status == ro.REVERTED
    assert paused.waves.get(number=1).status == ro.WAVE_REVERTED


def test_resume_is_not_a_page(pages, pack, paused):
    url = f"/dashboard/packs/{pack.id}/rollouts/{paused.id}/resume/"
    assert pages.get(url).status_code == 405
    paused.refresh_from_db()
    assert paused.status == ro.PAUSED
