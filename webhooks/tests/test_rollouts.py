"""A pack's rollout tells its owner's webhooks when it pauses and when it finishes."""

from __future__ import annotations

import json

import pytest

from packs import rollout as ro
from packs import services as packs
from revisions import services as revisions
from revisions.models import Step, Trail
from trail import status as st
from webhooks.tests.helpers import events_of, state

pytestmark = pytest.mark.django_db


@pytest.fixture
def fleet(owner, make_device, committed):
    """A pack led by a device without hardware (its revisions go out at once), one follower."""
    leader = make_device(owner, nick="leader", has_hardware=False)
    follower = make_device(owner, nick="follower")
    for device in (leader, follower):
        committed(revisions.create_trail, device, state(0))
    pack = committed(packs.create_pack, owner, nick="fleet", leader=leader, failure_threshold=0)
    committed(packs.add_follower, pack, follower)
    return pack, leader, follower


def roll_out(committed, leader, follower, outcome: str) -> None:
    trail = Trail.objects.select_related("device__owner").get(pk=leader.pk)
    committed(revisions.post_step, trail, state(2), author=leader.owner)
    step = Step.objects.filter(trail_id=follower.pk).order_by("-rev").first()
    committed(revisions.report_progress, step, st.INPROGRESS)
    committed(revisions.report_progress, step, outcome, progress=100)


def test_it_tells_when_a_rollout_finishes(receiver, make_hook, fleet, committed):
    pack, leader, follower = fleet
    make_hook(receiver.url, events=["rollout.paused", "rollout.finished"])

    roll_out(committed, leader, follower, st.DONE)

    assert events_of(receiver) == ["rollout.finished"]
    data = json.loads(receiver.requests[0].body)["data"]
    assert (data["pack"], data["status"], data["leader-rev"]) == (pack.id, ro.COMPLETED, 1)


def test_it_tells_when_a_rollout_pauses(receiver, make_hook, fleet, committed):
    pack, leader, follower = fleet
    make_hook(receiver.url, events=["rollout.paused", "rollout.finished"])

    roll_out(committed, leader, follower, st.ERROR)

    assert events_of(receiver) == ["rollout.paused"]
    assert json.loads(receiver.requests[0].body)["data"]["status"] == ro.PAUSED
