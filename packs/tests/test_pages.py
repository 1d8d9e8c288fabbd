"""The pack pages under /dashboard/packs/: the same rules as the API, with messages."""

from __future__ import annotations

import re

from packs import rollout as ro
from packs.models import Pack, PackMember, Rollout
from packs.tests.helpers import head, revs
from trail import status as st


def form_settings(**changes) -> dict:
    return {
        "canary_share": 0.1,
        "wave_size": 10,
        "failure_threshold": 0.2,
        "wave_timeout": 600,
        "description": "",
        **changes,
    }


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_the_pages_are_for_their_owner(client, outsider, pack):
    assert client.get("/dashboard/packs/").status_code == 302
    client.force_login(outsider)
    assert client.get(f"/dashboard/packs/{pack.id}/").status_code == 404
    assert client.post(f"/dashboard/packs/{pack.id}/delete/").status_code == 404
    assert Pack.objects.filter(pk=pack.pk).exists()


def test_it_creates_a_pack_from_the_list(pages, leader, committed):
    page = pages.get("/dashboard/packs/")
    assert page.status_code == 200 and b"No packs yet" in page.content
    answer = committed(
        pages.post,
        "/dashboard/packs/",
        form_settings(nick="lab", leader=leader.id),
        follow=True,
    )
    pack = Pack.objects.get(nick="lab")
    assert answer.redirect_chain[-1][0] == f"/dashboard/packs/{pack.id}/"
    assert "Pack lab created. Add its followers." in messages_of(answer)
    assert (pack.canary_share, pack.wave_size, pack.wave_timeout) == (0.1, 10, 600)
    listing = pages.get("/dashboard/packs/").content.decode()
    assert f'data-pack="{pack.id}"' in listing and "canary 10%, 10 per wave" in listing


def test_it_shows_form_errors_and_creates_nothing(pages, leader, committed, make_pack):
    answer = pages.post(
        "/dashboard/packs/", form_settings(nick="lab", leader=leader.id, failure_threshold=3)
    )
    assert answer.status_code == 200
    assert "Ensure this value is less than or equal to 1.0" in answer.content.decode()
    make_pack(leader, nick="lab")
    answer = committed(pages.post, "/dashboard/packs/", form_settings(nick="lab", leader=leader.id))
    assert "you already have a pack called 'lab'" in messages_of(answer)[0]
    assert Pack.objects.count() == 1


def test_the_pack_page_shows_members_counts_and_the_rollout(
    pages, pack, post, report, django_assert_max_num_queries
):
    followers = list(PackMember.objects.filter(pack=pack).select_related("device"))
    post(pack.leader, 2, "ship it")
    report(head(followers[0].device), st.ERROR)  # the canary fails: paused

    with django_assert_max_num_queries(14):
        page = pages.get(f"/dashboard/packs/{pack.id}/")
    html = page.content.decode()
    # What live.js needs to keep each member's row live: the dashboard stream, one row per device.
    assert "data-live-dashboard" in html
    for member in followers:
        assert f'data-device="{member.device_id}"' in html
    assert 'data-role="leader"' in html
    assert re.search(r'data-count="DONE">DONE <strong>3</strong>', html)
    assert re.search(r'data-count="ERROR">ERROR <strong>1</strong>', html)
    assert "ship it" in html and 'data-field="rollout-status">paused<' in html
    assert "1 of 1 devices failed (100%), over the threshold of 20%" in html
    assert f"/dashboard/packs/{pack.id}/rollouts/" in html and "Resume: next wave" in html
    assert "js/packs.js" in html


def test_the_page_takes_the_same_queries_for_more_members(
    pages, pack, make_member, committed, django_assert_num_queries
):
    from packs import services

    # session, account, pack, members, rollouts, refused deliveries, forms
    with django_assert_num_queries(13):
        pages.get(f"/dashboard/packs/{pack.id}/")
    for _ in range(5):
        committed(services.add_follower, pack, make_member())
    with django_assert_num_queries(13):
        assert pages.get(f"/dashboard/packs/{pack.id}/").content.count(b"data-device=") == 10


def test_followers_are_added_and_removed_from_the_page(pages, pack, make_member, committed):
    device = make_member("kiosk")
    page = pages.get(f"/dashboard/packs/{pack.id}/").content.decode()
    assert f'<option value="{device.id}">kiosk</option>' in page
    assert f'<option value="{pack.leader_id}">' not in page.split("Add a follower")[1]

    answer = committed(
        pages.post, f"/dashboard/packs/{pack.id}/followers/", {"device": device.id}, follow=True
    )
    assert "kiosk follows fleet now." in messages_of(answer)
    assert PackMember.objects.filter(pack=pack, device=device).exists()
    answer = committed(
        pages.post, f"/dashboard/packs/{pack.id}/followers/{device.id}/remove/", follow=True
    )
    assert "kiosk no longer follows fleet." in messages_of(answer)
    assert not PackMember.objects.filter(device=device).exists()

    answer = committed(
        pages.post, f"/dashboard/packs/{pack.id}/followers/", {"device": pack.leader_id}
    )
    assert answer.status_code == 302
    assert not PackMember.objects.filter(device_id=pack.leader_id).exists()


def test_the_owner_acts_on_a_rollout_from_the_page(pages, pack, post, report, committed):
    followers = [m.device for m in PackMember.objects.filter(pack=pack).select_related("device")]
    post(pack.leader, 2)
    report(head(followers[0]), st.ERROR)
    rollout = Rollout.objects.get(status=ro.PAUSED)
    base = f"/dashboard/packs/{pack.id}/rollouts/{rollout.id}"

    answer = committed(pages.post, f"{base}/resume/", follow=True)
    assert "Rollout resumed: the next wave is on its way." in messages_of(answer)
    assert [len(revs(f)) for f in followers] == [2, 2, 2, 1]
    answer = committed(pages.post, f"{base}/resume/", follow=True)
    assert messages_of(answer) == [
        "cannot resume a rollout that is running: only a paused rollout can be resumed"
    ]
    answer = committed(pages.post, f"{base}/revert/", {"wave": "2"}, follow=True)
    assert "Wave reverted" in messages_of(answer)[0]
    rollout.refresh_from_db()
    assert rollout.status == ro.REVERTED
    assert pages.post(f"{base}/explode/").status_code == 404


def test_settings_are_checked_like_the_api_does(pages, pack, make_member, committed):
    follower = PackMember.objects.filter(pack=pack).first().device
    answer = committed(
        pages.post,
        f"/dashboard/packs/{pack.id}/settings/",
        form_settings(nick="fleet", leader=follower.id),
        follow=True,
    )
    assert "follows this pack, so it cannot lead it" in messages_of(answer)[0]
    answer = committed(
        pages.post,
        f"/dashboard/packs/{pack.id}/settings/",
        form_settings(nick="fleet", leader=pack.leader_id, wave_timeout=1),
        follow=True,
    )
    assert messages_of(answer)[0].startswith("wave_timeout:")
    pack.refresh_from_db()
    assert pack.leader_id != follower.id and pack.wave_timeout == 1800
    answer = committed(
        pages.post,
        f"/dashboard/packs/{pack.id}/settings/",
        form_settings(nick="renamed", leader=pack.leader_id, failure_threshold=0.5),
        follow=True,
    )
    assert messages_of(answer) == ["Pack settings saved."]
    pack.refresh_from_db()
    assert (pack.nick, pack.failure_threshold) == ("renamed", 0.5)


def test_deleting_a_pack_keeps_the_devices_revisions(pages, pack, post, committed):
    post(pack.leader, 2)
    follower = PackMember.objects.filter(pack=pack).first().device
    answer = committed(pages.post, f"/dashboard/packs/{pack.id}/delete/", follow=True)
    assert answer.redirect_chain[-1][0] == "/dashboard/packs/"
    assert not Pack.objects.exists() and not PackMember.objects.exists()
    assert revs(follower) == [0, 1]


def test_the_admin_lists_packs_rollouts_and_deliveries(admin_client, pack, post):
    post(pack.leader, 2)
    rollout = Rollout.objects.filter(pack=pack).first()
    for url in (
        "/admin/packs/pack/",
        f"/admin/packs/pack/{pack.id}/change/",
        "/admin/packs/rollout/",
        f"/admin/packs/rollout/{rollout.id}/change/",
        "/admin/packs/delivery/",
    ):
        assert admin_client.get(url).status_code == 200, url


def test_the_dashboard_links_to_the_packs(pages):
    assert b'href="/dashboard/packs/"' in pages.get("/dashboard/").content
