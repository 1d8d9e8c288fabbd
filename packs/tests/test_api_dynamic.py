"""Tags, dynamic packs and maintenance windows over the API: PUT/GET /devices/<id>/tags,
and the rule, windows, timezone and start-at of POST/PATCH /packs."""

from __future__ import annotations

import datetime as dt

import pytest

from devices.models import Device
from packs import services
from packs.models import Pack, PackMember
from packs.tests.helpers import head
from portal import tokens as scoped_tokens

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(api, owner):
    return api.as_(owner)


# --- Tags -------------------------------------------------------------------------


def test_the_owner_puts_tags_and_reads_them_normalised(alice, make_member, committed):
    device = make_member("kiosk")
    answer = committed(
        alice.put, f"/devices/{device.id}/tags", [" Lobby", "site:berlin", "lobby"], format="json"
    )
    assert answer.status_code == 200, answer.json()
    assert answer.json() == ["lobby", "site:berlin"]
    assert alice.get(f"/devices/{device.id}/tags").json() == ["lobby", "site:berlin"]
    assert alice.get(f"/devices/{device.id}").json()["tags"] == ["lobby", "site:berlin"]


def test_the_device_reads_its_tags_and_cannot_write_them(api, make_member, committed):
    device = make_member("kiosk")
    Device.objects.filter(pk=device.id).update(tags=["lobby"])
    api.as_(device)
    assert api.get(f"/devices/{device.id}/tags").json() == ["lobby"]
    refused = api.put(f"/devices/{device.id}/tags", ["lab"], format="json")
    assert refused.status_code == 403 and refused.json()["code"] == "owner-only"
    assert Device.objects.get(pk=device.id).tags == ["lobby"]


def test_someone_else_gets_a_404_and_changes_nothing(api, outsider, make_member):
    device = make_member("kiosk")
    api.as_(outsider)
    assert api.get(f"/devices/{device.id}/tags").status_code == 404
    assert api.put(f"/devices/{device.id}/tags", ["x"], format="json").status_code == 404
    assert Device.objects.get(pk=device.id).tags == []


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"tags": ["a"]}, "not-a-list"),
        ("lobby", "not-a-list"),
        ([1], "bad-tag"),
        ([""], "bad-tag"),
        (["two words"], "bad-tag"),
        (["x" * 65], "bad-tag"),
        (["é"], "bad-tag"),
        ([f"t{n}" for n in range(33)], "too-many-tags"),
    ],
)
def test_bad_tags_are_a_400_and_change_nothing(alice, make_member, body, code):
    device = make_member("kiosk")
    Device.objects.filter(pk=device.id).update(tags=["keep"])
    answer = alice.put(f"/devices/{device.id}/tags", body, format="json")
    assert answer.status_code == 400 and answer.json()["code"] == code, answer.json()
    assert Device.objects.get(pk=device.id).tags == ["keep"]


def test_a_token_without_devices_write_cannot_tag_and_a_revoked_one_nothing(
    api, owner, make_member
):
    device = make_member("kiosk")
    token, raw = scoped_tokens.issue(owner, "reader", ["devices:read"])
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get(f"/devices/{device.id}/tags").status_code == 200
    refused = api.put(f"/devices/{device.id}/tags", ["x"], format="json")
    assert refused.status_code == 403 and refused.json()["code"] == "scope-missing"
    scoped_tokens.revoke(owner, token.id)
    assert api.get(f"/devices/{device.id}/tags").status_code == 401
    assert Device.objects.get(pk=device.id).tags == []


# --- Packs: rule, windows, start ---------------------------------------------------

NOW_WINDOW_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def window_around(now: dt.datetime, open_: bool) -> list[dict]:
    """A window (UTC) holding ``now`` with an hour's margin, or one twelve hours away."""
    shift = 0 if open_ else 12
    start = (now.hour - 1 + shift) % 24
    end = (now.hour + 2 + shift) % 24
    return [{"days": NOW_WINDOW_DAYS, "from": f"{start:02d}:00", "to": f"{end:02d}:00"}]


def test_a_tagged_device_joins_a_dynamic_pack_and_gets_the_leaders_revision_in_a_window(
    alice, leader, make_member, committed, post, settings
):
    """The done-when of issue 24 item 6/7: tag a device; it joins the pack its tags match;
    outside the window it gets nothing, inside it gets the leader's revision."""
    release = post(leader, 5)
    now = dt.datetime.now(dt.UTC)
    body = {
        "nick": "kiosks",
        "leader": leader.id,
        "rule": {"tags": {"all": ["kiosk"]}},
        "windows": window_around(now, open_=False),
        "timezone": "UTC",
    }
    created = committed(alice.post, "/packs/", body, format="json")
    assert created.status_code == 200, created.json()
    pack = created.json()
    assert pack["rule"] == {"tags": {"all": ["kiosk"]}} and pack["timezone"] == "UTC"
    assert pack["next-wave-at"] > now.isoformat()[:16]
    device = make_member("lobby")
    committed(alice.put, f"/devices/{device.id}/tags", ["kiosk"], format="json")
    members = alice.get(f"/packs/{pack['id']}").json()["members"]
    assert [m["nick"] for m in members] == ["leader", "lobby"]
    assert head(device).rev == 0  # joined, but held for the window
    committed(services.sweep)
    assert head(device).rev == 0

    changed = committed(
        alice.patch,
        f"/packs/{pack['id']}",
        {"windows": window_around(now, open_=True)},
        format="json",
    )
    assert changed.json()["next-wave-at"] is not None
    committed(services.sweep)
    assert head(device).state_sha == release.state_sha
    # Untagged, it leaves the pack.
    committed(alice.put, f"/devices/{device.id}/tags", [], format="json")
    assert not PackMember.objects.filter(device=device).exists()


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"rule": {}}, "bad-rule"),
        ({"rule": {"tags": {"all": ["no spaces"]}}}, "bad-rule"),
        ({"rule": "kiosk"}, "bad-rule"),
        ({"windows": {"days": ["mon"]}}, "bad-windows"),
        ({"windows": [{"days": ["mon"], "from": "9:00", "to": "10:00"}]}, "bad-windows"),
        ({"timezone": "Mars/Olympus"}, "bad-timezone"),
        ({"start-at": "tomorrow"}, "invalid"),
    ],
)
def test_a_bad_rule_or_schedule_is_a_400_and_changes_nothing(alice, leader, committed, body, code):
    pack = committed(services.create_pack, leader.owner, nick="fleet", leader=leader)
    answer = alice.patch(f"/packs/{pack.id}", body, format="json")
    assert answer.status_code == 400, answer.json()
    assert code in str(answer.json()), answer.json()
    stored = Pack.objects.get(pk=pack.id)
    assert (stored.rule, stored.windows, stored.time_zone, stored.start_at) == (
        None,
        [],
        "UTC",
        None,
    )
    created = alice.post("/packs/", {"nick": "other", "leader": leader.id, **body}, format="json")
    assert created.status_code == 400 and not Pack.objects.filter(nick="other").exists()


def test_a_dynamic_pack_refuses_a_follower_by_hand(alice, leader, make_member, committed):
    pack = committed(
        services.create_pack, leader.owner, nick="fleet", leader=leader, rule={"board": ["x"]}
    )
    device = make_member("kiosk")
    answer = alice.put(f"/packs/{pack.id}/followers/{device.id}")
    assert answer.status_code == 409 and answer.json()["code"] == "dynamic-pack"
    assert not PackMember.objects.filter(device=device).exists()
