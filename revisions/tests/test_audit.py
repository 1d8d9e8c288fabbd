"""What the audit log (portal/audit.py) records of revisions: each posted one, the owner's
moves of their status, never a device's own progress reports; a refused post records
nothing."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from portal import audit, tokens
from portal.models import AuditEntry
from revisions import services
from revisions.tests.conftest import sha
from trail import status as st

pytestmark = pytest.mark.django_db

SPEC = "pantavisor-service-system@1"


def state(version: int) -> dict:
    return {"#spec": SPEC, "app/config.json": {"version": version}}


@pytest.fixture
def trail(device, trail_of):
    return trail_of(device, state(0))


def test_a_revision_posted_with_a_scoped_token_names_the_token_and_the_device(owner, device, trail):
    row, raw = tokens.issue(owner, "ci-deploy", ["trails:write"])
    client = APIClient(REMOTE_ADDR="203.0.113.50")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    posted = client.post(
        f"/trails/{device.id}/steps", {"state": state(1), "commit-msg": "v1"}, format="json"
    )
    assert posted.status_code == 200, posted.json()
    entry = AuditEntry.objects.get(action="revision.post")
    assert (entry.owner, entry.target, entry.target_name) == (owner, f"device:{device.id}", "kiosk")
    assert (entry.via, entry.token_id, entry.address) == ("token", row.id, "203.0.113.50")
    assert entry.after == {
        "rev": 1,
        "commit-msg": "v1",
        "state-sha": posted.json()["state-sha"],
        "forked-from": None,
    }


def test_a_refused_post_records_nothing(api, owner, device, trail):
    missing = {**state(1), "app/root.squashfs": sha(b"never uploaded")}
    refused = api.as_(owner).post(f"/trails/{device.id}/steps", {"state": missing}, format="json")
    assert refused.status_code == 409
    assert not AuditEntry.objects.filter(action="revision.post").exists()


def test_a_post_by_a_task_is_the_systems(owner, trail):
    with audit.as_system("packs.tasks.deliver"):
        services.post_step(trail, state(1), commit_msg="pack delivery")
    entry = AuditEntry.objects.get(action="revision.post")
    assert (entry.actor_kind, entry.actor, entry.via) == ("system", "packs.tasks.deliver", "task")


def test_the_owners_cancel_is_recorded_the_devices_reports_are_not(api, owner, device, trail):
    first = services.post_step(trail, state(1))
    second = services.post_step(trail, state(2))
    progress = f"/trails/{device.id}/steps/{first.rev}/progress"
    assert (
        api.as_(device).put(progress, {"status": st.INPROGRESS}, format="json").status_code == 200
    )
    assert api.as_(owner).put(f"/trails/{device.id}/steps/{second.rev}/cancel").status_code == 200
    moves = AuditEntry.objects.filter(action="revision.status")
    assert [(e.before, e.after, e.via) for e in moves] == [
        ({"rev": 2, "status": st.NEW}, {"rev": 2, "status": st.CANCEL}, "password")
    ]


def test_a_replaced_state_is_recorded_with_both_shas(api, owner, device, trail):
    step = services.post_step(trail, state(1))
    path = f"/trails/{device.id}/steps/{step.rev}/state"
    assert api.as_(owner).put(path, state(2), format="json").status_code == 200
    entry = AuditEntry.objects.get(action="revision.state")
    step.refresh_from_db()
    assert entry.before["state-sha"] != entry.after["state-sha"] == step.state_sha
    assert entry.target == f"device:{device.id}"
