"""``deliver()`` when things changed between planning a follower's delivery and
posting it: the rollout paused or ended, the wave has not started, the device
left the pack or is no longer the pack owner's.

Nothing is posted in any of these cases. A delivery that waits stays ``pending``
(it is queued again when it may go); one that will never go is ``cancelled``
(neutral in the wave's tally) or, when the device it was meant for is someone
else's now, ``failed`` with the reason in its ``error``, as the rollout's API
detail shows it, and counted as a failure (the device did not get the revision).
"""

from __future__ import annotations

import pytest

from devices.models import Device
from packs import rollout as ro
from packs import services
from packs.models import Delivery, PackMember, Rollout
from packs.services import rollouts
from packs.tests.helpers import head, revs
from trail import status as st


@pytest.fixture
def fleet(leader, make_member, make_pack):
    """Six followers: a canary of two, then waves of two; pausing above 25% failures."""
    followers = [make_member(f"f{i}") for i in range(6)]
    pack = make_pack(leader, followers, canary_share=0.3, wave_size=2, failure_threshold=0.25)
    return pack, followers


@pytest.fixture
def held(monkeypatch, fleet, post):
    """The leader's revision, planned but not delivered: the messages that would have
    posted it are lost, so each test delivers by hand (as a late message, or the
    sweep, would). Returns ``(rollout, {device id: delivery})``."""
    pack, followers = fleet
    monkeypatch.setattr(rollouts, "kick", lambda ids: None)
    post(pack.leader, 2)
    monkeypatch.undo()
    rollout = Rollout.objects.filter(pack=pack).order_by("-time_created", "-id").first()
    deliveries = {d.device_id: d for d in Delivery.objects.filter(rollout=rollout)}
    assert [revs(f) for f in followers] == [[0]] * 6
    return rollout, deliveries


def deliver(committed, delivery: Delivery) -> Delivery:
    status = committed(services.deliver, delivery.id)
    delivery.refresh_from_db()
    assert delivery.status == status
    return delivery


def waves(rollout: Rollout) -> list[str]:
    return list(rollout.waves.order_by("number").values_list("status", flat=True))


def test_a_paused_rollout_posts_nothing_until_it_is_resumed(fleet, held, committed, report):
    pack, followers = fleet
    rollout, deliveries = held
    canary = deliver(committed, deliveries[followers[0].id])
    report(head(followers[0]), st.ERROR)  # 1 of 2: the canary wave fails, the rollout pauses
    rollout.refresh_from_db()
    assert rollout.status == ro.PAUSED and waves(rollout)[0] == ro.FAILED
    assert canary.status == ro.D_POSTED

    # The other canary's message arrives late: the pause holds it back, it is not dropped.
    late = deliver(committed, deliveries[followers[1].id])
    assert (late.status, late.error) == (ro.D_PENDING, "")
    later_wave = deliver(committed, deliveries[followers[2].id])
    assert later_wave.status == ro.D_PENDING
    assert [revs(f) for f in followers[1:]] == [[0]] * 5

    committed(services.resume, rollout)
    late.refresh_from_db()
    assert late.status == ro.D_POSTED and revs(followers[1]) == [0, 1]
    assert waves(Rollout.objects.get(pk=rollout.pk))[1] == ro.WAVE_RUNNING
    assert [revs(f) for f in followers[2:4]] == [[0, 1]] * 2  # the next wave, after resume


def test_an_aborted_rollout_posts_nothing_more(fleet, held, committed):
    pack, followers = fleet
    rollout, deliveries = held
    committed(services.abort, rollout)
    for device in followers:
        delivery = deliver(committed, deliveries[device.id])
        assert delivery.status == ro.D_CANCELLED
        assert delivery.error == "the rollout was aborted"
    assert [revs(f) for f in followers] == [[0]] * 6


@pytest.mark.parametrize("ended", [ro.ABORTED, ro.REVERTED, ro.SUPERSEDED])
def test_a_delivery_still_pending_when_its_rollout_ended_is_cancelled(
    fleet, held, committed, ended
):
    """The end of a rollout cancels what is pending; a delivery that escaped it (a
    follower catching up while the owner aborted, each under its own lock) is
    cancelled when its message comes, not posted."""
    pack, followers = fleet
    rollout, deliveries = held
    Rollout.objects.filter(pk=rollout.pk).update(status=ended)
    delivery = deliver(committed, deliveries[followers[0].id])
    assert (delivery.status, delivery.error) == (ro.D_CANCELLED, f"the rollout was {ended}")
    assert delivery.outcome == ro.NEUTRAL
    assert revs(followers[0]) == [0]


def test_a_wave_that_has_not_started_waits(fleet, held, committed, report):
    pack, followers = fleet
    rollout, deliveries = held
    assert waves(rollout) == [ro.WAVE_RUNNING, ro.PENDING, ro.PENDING]
    for device in followers[2:]:
        early = deliver(committed, deliveries[device.id])
        assert (early.status, early.error) == (ro.D_PENDING, "")
    assert [revs(f) for f in followers[2:]] == [[0]] * 4

    for device in followers[:2]:
        deliver(committed, deliveries[device.id])
        report(head(device), st.DONE)
    rollout.refresh_from_db()
    assert waves(rollout) == [ro.PASSED, ro.WAVE_RUNNING, ro.PENDING]
    assert [revs(f) for f in followers[2:4]] == [[0, 1]] * 2  # started by the wave, once
    assert [revs(f) for f in followers[4:]] == [[0]] * 2


def test_a_device_that_left_the_pack_meanwhile_gets_nothing(fleet, held, committed):
    """Its membership went (say, a removal that committed while the message was on its
    way); the delivery is cancelled, not posted."""
    pack, followers = fleet
    rollout, deliveries = held
    PackMember.objects.filter(device=followers[0]).delete()
    delivery = deliver(committed, deliveries[followers[0].id])
    assert (delivery.status, delivery.error) == (ro.D_CANCELLED, "the device left the pack")
    assert revs(followers[0]) == [0]


def test_a_device_that_changed_owner_meanwhile_gets_nothing_and_says_why(
    fleet, held, committed, outsider, api, owner
):
    """The device was given to someone else (the admin changed its owner) after the
    rollout planned it: the pack owner may no longer post to it. The delivery fails,
    with the reason the owner reads in the rollout's detail, and its wave counts it."""
    pack, followers = fleet
    rollout, deliveries = held
    Device.objects.filter(pk=followers[0].pk).update(owner=outsider)

    delivery = deliver(committed, deliveries[followers[0].id])

    assert delivery.status == ro.D_FAILED
    assert delivery.error == "the device is no longer the pack owner's"
    assert revs(followers[0]) == [0]  # nothing was posted to someone else's device
    assert services.wave_tally(delivery.wave) == ro.Tally(ok=0, failed=1, waiting=1)
    detail = api.as_(owner).get(f"/packs/{pack.id}/rollouts/{rollout.id}").json()
    shown = next(d for d in detail["deliveries"] if d["device"] == followers[0].id)
    assert (shown["status"], shown["outcome"]) == ("failed", "failed")
    assert shown["error"] == "the device is no longer the pack owner's"
    assert shown["rev"] is None
    rollout.refresh_from_db()
    assert rollout.status == ro.PAUSED  # 1 of 2 over 25%: the owner decides, as for any failure
