"""What the audit log (portal/audit.py) records of packs and rollouts: the owner's changes
with their fields, the followers that join and leave, the rollouts the system starts and
pauses and the owner resumes or aborts, and the revisions a delivery posts."""

from __future__ import annotations

import pytest

from packs import rollout as ro
from packs.models import Rollout
from packs.tests.helpers import head
from portal.models import AuditEntry
from trail import status as st

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(api, owner):
    return api.as_(owner)


def actions(owner) -> list[str]:
    return list(
        AuditEntry.objects.filter(owner=owner)
        .order_by("time", "id")
        .values_list("action", flat=True)
    )


def test_a_packs_life_is_recorded_with_its_changed_fields(
    alice, owner, leader, make_member, committed
):
    device = make_member("f1")
    created = committed(
        alice.post, "/packs/", {"nick": "fleet", "leader": leader.id}, format="json"
    )
    pack_id = created.json()["id"]
    committed(alice.patch, f"/packs/{pack_id}", {"wave-size": 3, "nick": "fleet"}, format="json")
    committed(alice.put, f"/packs/{pack_id}/followers/{device.id}")
    committed(alice.delete, f"/packs/{pack_id}/followers/{device.id}")
    committed(alice.delete, f"/packs/{pack_id}")
    entries = {
        e.action: e for e in AuditEntry.objects.filter(owner=owner, action__startswith="pack.")
    }
    assert sorted(entries) == [
        "pack.create",
        "pack.delete",
        "pack.follower-add",
        "pack.follower-remove",
        "pack.update",
    ]
    assert all(e.target == f"pack:{pack_id}" and e.via == "password" for e in entries.values())
    assert entries["pack.create"].after["leader"] == leader.id
    assert entries["pack.create"].after["nick"] == "fleet"
    assert (entries["pack.update"].before, entries["pack.update"].after) == (
        {"wave_size": 0},
        {"wave_size": 3},
    )
    member = {"device": device.id, "nick": "f1"}
    assert entries["pack.follower-add"].after == member
    assert entries["pack.follower-remove"].before == member
    assert entries["pack.delete"].before["nick"] == "fleet"


def test_a_refused_follower_records_nothing(alice, owner, leader, make_pack, committed):
    pack = make_pack(leader)
    before = actions(owner)
    answer = committed(alice.put, f"/packs/{pack.id}/followers/{leader.id}")
    assert answer.status_code == 400
    assert actions(owner) == before


def test_rollouts_started_and_paused_by_the_system_resumed_and_aborted_by_the_owner(
    alice, owner, leader, make_member, make_pack, post, report, committed
):
    followers = [make_member(f"f{i}") for i in range(4)]
    pack = make_pack(leader, followers, canary_share=0.5, wave_size=1, failure_threshold=0.0)
    post(leader, 2)
    report(head(followers[0]), st.ERROR)
    rollout = Rollout.objects.filter(pack=pack).order_by("-time_created", "-id").first()
    assert rollout.status == ro.PAUSED
    url = f"/packs/{pack.id}/rollouts/{rollout.id}"
    assert committed(alice.post, f"{url}/resume").status_code == 200
    assert committed(alice.post, f"{url}/abort").status_code == 200

    of_rollout = AuditEntry.objects.filter(owner=owner, after__rollout=rollout.id)
    moves = [(e.action, e.actor_kind, e.actor) for e in of_rollout.order_by("time", "id")]
    assert moves == [
        ("rollout.start", "system", "packs.tasks.start_rollout"),
        ("rollout.pause", "system", "packs.tasks.evaluate_rollout"),
        ("rollout.resume", "person", "alice"),
        ("rollout.abort", "person", "alice"),
    ]
    aborted = of_rollout.get(action="rollout.abort")
    assert (aborted.before, aborted.after["status"], aborted.after["rev"]) == (
        {"rollout": rollout.id, "status": ro.RUNNING},
        ro.ABORTED,
        1,  # the leader's revision 1 (version 2)
    )
    # What the deliveries posted is recorded as the delivery task's.
    delivered = AuditEntry.objects.filter(
        action="revision.post", target=f"device:{followers[0].id}"
    ).get()
    assert (delivered.actor_kind, delivered.actor) == ("system", "packs.tasks.deliver")
