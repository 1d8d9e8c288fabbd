"""What the audit log (portal/audit.py) records of webhooks: registered, changed, removed,
a delivery sent again; never a secret, and nothing for a refused target."""

from __future__ import annotations

import json

import pytest

from portal.models import AuditEntry
from revisions import services as revisions
from webhooks import services
from webhooks.tests.helpers import state

pytestmark = pytest.mark.django_db

SECRET = "never-say-this-secret-9f2c"
URL = "https://93.184.215.14/hook"


def test_a_webhooks_life_is_recorded_without_its_secret(api, owner):
    alice = api.as_(owner)
    made = alice.post("/webhooks", {"url": URL, "events": ["*"], "secret": SECRET}, format="json")
    hook_id = made.json()["id"]
    alice.patch(f"/webhooks/{hook_id}", {"active": False, "secret": SECRET + "-2"}, format="json")
    alice.delete(f"/webhooks/{hook_id}")
    entries = {e.action: e for e in AuditEntry.objects.filter(owner=owner)}
    assert sorted(entries) == ["webhook.create", "webhook.delete", "webhook.update"]
    assert entries["webhook.create"].after == {"url": URL, "events": ["*"], "active": True}
    assert entries["webhook.update"].before == {"active": True}
    assert entries["webhook.update"].after == {"active": False, "secret-changed": True}
    assert entries["webhook.delete"].before["url"] == URL
    assert all(e.target == f"webhook:{hook_id}" for e in entries.values())
    assert SECRET not in json.dumps([(e.before, e.after) for e in entries.values()])


def test_a_refused_target_records_nothing(api, owner):
    refused = api.as_(owner).post(
        "/webhooks", {"url": "http://127.0.0.1/x", "events": ["*"], "secret": SECRET}, format="json"
    )
    assert refused.status_code == 400
    assert not AuditEntry.objects.exists()


def test_a_redelivery_is_recorded(api, owner, receiver, make_hook, device, committed):
    hook = make_hook(receiver.url)
    committed(revisions.create_trail, device, state(0))
    answer = committed(api.as_(owner).post, f"/webhooks/{hook.id}/deliveries/1/redeliver")
    assert answer.status_code == 202
    entry = AuditEntry.objects.get(action="webhook.redeliver")
    assert entry.after == {"delivery": 2, "of": 1, "event": "revision.status"}
    assert (entry.target, entry.via) == (f"webhook:{hook.id}", "password")


def test_a_delivery_is_recorded_once_when_it_ends(owner, receiver, make_hook, device, committed):
    hook = make_hook(receiver.url)
    receiver.answers = [500]
    committed(revisions.create_trail, device, state(0))
    # The first attempt failed: the delivery is still pending, nothing is recorded yet.
    assert not AuditEntry.objects.filter(action="webhook.deliver").exists()
    assert services.attempt(str(hook.deliveries.get().pk), 2) is None
    entry = AuditEntry.objects.get(action="webhook.deliver")
    assert (entry.actor_kind, entry.target) == ("system", f"webhook:{hook.id}")
    assert entry.after == {
        "delivery": 1,
        "event": "revision.status",
        "status": "delivered",
        "attempts": 2,
        "code": 200,
        "error": "",
    }
