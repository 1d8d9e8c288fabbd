"""Revision proposals tell webhooks: proposal.opened to the target's owner, proposal.merged
to the target's owner and the proposer (community.signals.proposal_moved)."""

from __future__ import annotations

import copy
import json

import pytest

from community import services as community
from community.services import proposals
from devices.models import Device
from revisions import services as revisions
from revisions.models import Step
from webhooks.tests.helpers import events_of, state

pytestmark = pytest.mark.django_db


@pytest.fixture
def fork(owner, outsider, make_device, committed):
    """alice's public kiosk, and mallory's fork of it with a change of her own."""
    kiosk = make_device(owner, nick="kiosk", public=True)
    committed(revisions.create_trail, kiosk, state(0))
    step = Step.objects.get(trail_id=kiosk.id, rev=0)
    committed(community.fork, outsider, kiosk, step, nick="mine")
    mine = Device.objects.select_related("owner").get(owner=outsider, nick="mine")
    changed = copy.deepcopy(step.state)
    changed["proposed.json"] = {"by": "mallory"}
    proposed = committed(revisions.post_step, mine.trail, changed, author=outsider)
    return kiosk, proposed


def test_the_owner_hears_a_proposal_opened_and_merged(
    receiver, make_hook, owner, outsider, fork, committed
):
    kiosk, proposed = fork
    make_hook(receiver.url, events=["proposal.opened", "proposal.merged"])

    made = committed(proposals.open_proposal, outsider, kiosk, proposed, "Say who")
    assert events_of(receiver) == ["proposal.opened"]
    data = json.loads(receiver.requests[0].body)["data"]
    assert (data["device"], data["number"], data["title"]) == (kiosk.id, 1, "Say who")
    assert (data["proposer"], data["status"], data["merged-rev"]) == ("mallory", "open", None)

    committed(proposals.merge, owner, made)
    assert events_of(receiver) == ["proposal.opened", "proposal.merged"]
    data = json.loads(receiver.requests[1].body)["data"]
    assert (data["status"], data["merged-rev"]) == ("merged", 1)


def test_the_proposer_hears_their_proposal_merged_and_closing_tells_nobody(
    receiver, make_hook, owner, outsider, fork, committed
):
    kiosk, proposed = fork
    make_hook(receiver.url, events=["*"], who=outsider)
    made = committed(proposals.open_proposal, outsider, kiosk, proposed, "Say who")
    assert events_of(receiver) == []  # opened: the target's owner's news
    committed(proposals.close, outsider, made)
    assert events_of(receiver) == []
    again = committed(proposals.open_proposal, outsider, kiosk, proposed, "Again")
    committed(proposals.merge, owner, again)
    assert events_of(receiver) == ["proposal.merged"]
    assert json.loads(receiver.requests[0].body)["data"]["number"] == 2
