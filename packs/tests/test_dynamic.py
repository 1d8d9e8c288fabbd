"""Dynamic packs: followers chosen by a rule over tags and device facts, joining and
leaving by themselves as tags and facts change (packs/services/dynamic.py)."""

from __future__ import annotations

import pytest

from devices import services as device_services
from packs import rules, services
from packs.models import Delivery, PackMember
from packs.tests.helpers import head
from portal.errors import DomainError

pytestmark = pytest.mark.django_db

KIOSKS = {"tags": {"all": ["kiosk"]}}


def followers(pack) -> set[str]:
    return set(PackMember.objects.filter(pack=pack).values_list("device__nick", flat=True))


def tag(committed, device, *tags):
    return committed(device_services.update_device, device, tags=list(tags))


def test_it_takes_the_matching_devices_when_the_pack_is_made(
    make_pack, leader, make_member, committed
):
    tag(committed, make_member("a"), "kiosk")
    tag(committed, make_member("b"), "lab")
    pack = make_pack(leader, rule=KIOSKS)
    assert followers(pack) == {"a"}


def test_a_tagged_device_joins_and_catches_up_to_the_leaders_revision(
    make_pack, leader, make_member, committed, post
):
    pack = make_pack(leader, rule=KIOSKS)
    release = post(leader, 7)
    device = make_member("late")
    assert followers(pack) == set()
    tag(committed, device, "Kiosk ")
    assert followers(pack) == {"late"}
    assert head(device).state_sha == release.state_sha
    assert Delivery.objects.get(device=device).status == "posted"


def test_a_device_whose_tag_is_taken_off_leaves(make_pack, leader, make_member, committed):
    device = tag(committed, make_member("a"), "kiosk", "lobby")
    pack = make_pack(leader, rule=KIOSKS)
    tag(committed, device, "lobby")
    assert followers(pack) == set()


def test_it_follows_published_facts(make_pack, leader, make_member, committed):
    device = make_member("pi")
    pack = make_pack(leader, rule={"arch": ["aarch64"], "pantavisor": ">=019"})
    meta = {"pantavisor.arch": "aarch64/64/EL", "pantavisor.version": "018"}
    committed(device_services.write_meta, device, "device_meta", meta, merge=False)
    assert followers(pack) == set()
    committed(
        device_services.write_meta, device, "device_meta", {"pantavisor.version": "019"}, merge=True
    )
    assert followers(pack) == {"pi"}
    committed(
        device_services.write_meta, device, "device_meta", {"pantavisor.arch": "x86_64"}, merge=True
    )
    assert followers(pack) == set()


def test_a_new_rule_recomputes_the_followers(make_pack, leader, make_member, committed):
    tag(committed, make_member("a"), "kiosk")
    tag(committed, make_member("b"), "lab")
    pack = make_pack(leader, rule=KIOSKS)
    committed(services.update_pack, pack, rule={"tags": {"any": ["lab"]}})
    assert followers(pack) == {"b"}


def test_a_device_following_another_pack_stays_there(make_pack, leader, make_member, committed):
    device = tag(committed, make_member("a"), "kiosk")
    manual = make_pack(make_member("other-leader", hardware=False), [device], nick="manual")
    dynamic = make_pack(leader, rule=KIOSKS, nick="dynamic")
    assert followers(manual) == {"a"} and followers(dynamic) == set()


def test_the_leader_and_other_owners_devices_never_join(
    make_pack, leader, make_member, committed, outsider
):
    tag(committed, leader, "kiosk")
    tag(committed, make_member("theirs", who=outsider), "kiosk")
    pack = make_pack(leader, rule=KIOSKS)
    assert followers(pack) == set()


def test_followers_of_a_dynamic_pack_are_not_picked_by_hand(
    make_pack, leader, make_member, committed
):
    device = make_member("a")
    pack = make_pack(leader, rule=KIOSKS)
    with pytest.raises(DomainError) as refused:
        services.add_follower(pack, device)
    assert refused.value.code == "dynamic-pack" and followers(pack) == set()


@pytest.mark.parametrize(
    "rule",
    [
        {},
        [],
        {"tags": []},
        {"tags": {"all": []}},
        {"tags": {"some": ["x"]}},
        {"tags": {"all": ["bad tag"]}},
        {"board": "rpi"},
        {"arch": [""]},
        {"pantavisor": "newest"},
        {"pantavisor": 19},
        {"colour": ["red"]},
    ],
)
def test_a_bad_rule_is_a_400_and_changes_nothing(make_pack, leader, rule):
    pack = make_pack(leader)
    with pytest.raises(DomainError) as refused:
        services.update_pack(pack, rule=rule)
    assert refused.value.code == "bad-rule" and refused.value.status_code == 400
    pack.refresh_from_db()
    assert pack.rule is None


@pytest.mark.parametrize(
    ("rule", "tags", "facts", "expected"),
    [
        ({"tags": {"all": ["a", "b"]}}, ["a", "b", "c"], {}, True),
        ({"tags": {"all": ["a", "b"]}}, ["a"], {}, False),
        ({"tags": {"any": ["a", "b"]}}, ["b"], {}, True),
        ({"tags": {"any": ["a"]}}, [], {}, False),
        ({"tags": {"none": ["lab"]}}, ["lab"], {}, False),
        ({"board": ["RPi 4"]}, [], {"board": "RPi 4"}, True),
        ({"board": ["RPi 4"]}, [], {}, False),
        ({"arch": ["aarch64"]}, [], {"arch": "aarch64/64/EL"}, True),
        ({"arch": ["aarch64/64/EL"]}, [], {"arch": "aarch64/64/EL"}, True),
        ({"arch": ["arm"]}, [], {"arch": "armv7/32/EL"}, False),
        ({"pantavisor": ">=019"}, [], {"pantavisor": "020-rc1"}, True),
        ({"pantavisor": ">=019"}, [], {"pantavisor": "018"}, False),
        ({"pantavisor": "<019"}, [], {"pantavisor": "018"}, True),
        ({"pantavisor": "019"}, [], {"pantavisor": "019"}, True),
        ({"pantavisor": ">=019"}, [], {}, False),
    ],
)
def test_a_rule_matches_as_documented(rule, tags, facts, expected):
    assert rules.matches(rules.clean_rule(rule), tags, facts) is expected


def test_the_pack_page_shows_the_rule_and_when_the_next_wave_may_go(
    make_pack, leader, pages, committed
):
    nights = [{"days": ["mon", "tue"], "from": "22:00", "to": "04:00"}]
    pack = make_pack(leader, rule=KIOSKS, windows=nights, time_zone="Europe/Berlin")
    body = pages.get(f"/dashboard/packs/{pack.id}/").content.decode()
    assert (
        "Followers by rule: <code>{&quot;tags&quot;: {&quot;all&quot;: [&quot;kiosk&quot;]}}"
        in body
    )
    assert 'Next wave may go <strong data-field="next-wave">' in body
    assert "(Europe/Berlin)" in body and "mon,tue 22:00–04:00" in body
    committed(services.update_pack, pack, windows=[])
    body = pages.get(f"/dashboard/packs/{pack.id}/").content.decode()
    assert "Next wave may go" not in body  # no window, no start time: nothing to wait for


def test_the_settings_form_sets_a_rule_and_windows(
    make_pack, leader, make_member, pages, committed
):
    tag(committed, make_member("a"), "kiosk")
    pack = make_pack(leader)
    form = {
        "nick": "fleet",
        "leader": leader.id,
        "description": "",
        "canary_share": 0,
        "wave_size": 0,
        "failure_threshold": 0.2,
        "wave_timeout": 1800,
        "rule": '{"tags": {"any": ["kiosk"]}}',
        "windows": '[{"days": ["sun"], "from": "01:00", "to": "05:00"}]',
        "time_zone": "Asia/Kolkata",
        "start_at": "",
    }
    committed(pages.post, f"/dashboard/packs/{pack.id}/settings/", form)
    pack.refresh_from_db()
    assert pack.rule == {"tags": {"any": ["kiosk"]}} and pack.time_zone == "Asia/Kolkata"
    assert followers(pack) == {"a"}


def test_a_claimed_device_that_reports_a_matching_board_joins(
    make_pack, leader, owner, make_device, committed
):
    pack = make_pack(leader, rule={"board": ["Raspberry Pi 4 Model B"]})
    device = make_device(None, challenge="maple-river-42")
    device.device_meta = {"pantavisor.dtmodel": "Raspberry Pi 4 Model B"}
    device.save()
    committed(device_services.claim_device, owner, device.id, "maple-river-42")
    assert PackMember.objects.get(device=device).pack_id == pack.id
