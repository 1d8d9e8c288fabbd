"""What the audit log (portal/audit.py) records of devices: claims, edits, user-meta,
deletions, by whom and how; a refused change records nothing."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from portal import tokens
from portal.models import AuditEntry

pytestmark = pytest.mark.django_db


def bearer(raw: str) -> APIClient:
    client = APIClient(REMOTE_ADDR="198.51.100.20")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def recorded(owner) -> list[tuple[str, dict | None, dict | None]]:
    return [
        (e.action, e.before, e.after)
        for e in AuditEntry.objects.filter(owner=owner).order_by("time", "id")
    ]


def test_a_claim_is_recorded_for_the_new_owner(api, owner, unclaimed):
    api.as_(owner).put(f"/devices/{unclaimed.id}?challenge=maple-river-42")
    entry = AuditEntry.objects.get(owner=owner)
    assert (entry.action, entry.target, entry.via) == (
        "device.claim",
        f"device:{unclaimed.id}",
        "password",
    )
    assert entry.after == {"nick": "gentle-finch"}


def test_a_wrong_challenge_records_nothing(api, owner, unclaimed):
    assert api.as_(owner).put(f"/devices/{unclaimed.id}?challenge=wrong").status_code == 403
    assert not AuditEntry.objects.exists()


def test_an_edit_with_a_scoped_token_records_the_changed_fields_and_the_token(owner, device):
    row, raw = tokens.issue(owner, "ci-deploy", ["devices:write"])
    answer = bearer(raw).patch(
        f"/devices/{device.id}", {"nick": "kiosk-2", "public": False}, format="json"
    )
    assert answer.status_code == 200, answer.json()
    entry = AuditEntry.objects.get(action="device.update")
    assert (entry.via, entry.token_id, entry.token_name, entry.address) == (
        "token",
        row.id,
        "ci-deploy",
        "198.51.100.20",
    )
    # public was false already: only the nick changed.
    assert (entry.before, entry.after) == ({"nick": "kiosk"}, {"nick": "kiosk-2"})


def test_a_taken_nick_records_nothing(api, owner, device, sibling):
    refused = api.as_(owner).patch(f"/devices/{device.id}", {"nick": "sibling"}, format="json")
    assert refused.status_code == 409
    assert not AuditEntry.objects.filter(action="device.update").exists()


def test_user_meta_is_recorded_key_by_key_device_meta_is_not(api, owner, device):
    device.user_meta = {"keep": "1", "drop": "2"}
    device.save()
    api.as_(owner).patch(
        f"/devices/{device.id}/user-meta", {"drop": None, "add": "3"}, format="json"
    )
    api.as_(device).put(f"/devices/{device.id}/device-meta", {"uptime": "5"}, format="json")
    assert recorded(owner) == [
        ("device.meta", {"drop": "2", "add": None}, {"drop": None, "add": "3"})
    ]


def test_a_deletion_over_the_api_and_on_the_page_is_recorded(api, client, owner, device, sibling):
    assert api.as_(owner).delete(f"/devices/{device.id}").status_code == 200
    client.force_login(owner)
    client.post(f"/u/{owner.username}/{sibling.nick}/settings/delete/", {"confirm": sibling.nick})
    deleted = AuditEntry.objects.filter(action="device.delete").order_by("time")
    assert [(e.target_name, e.via) for e in deleted] == [
        ("kiosk", "password"),
        ("sibling", "session"),
    ]


def test_a_deletion_a_read_token_is_refused_is_recorded_as_a_refusal_only(owner, device):
    _, raw = tokens.issue(owner, "ci-read", ["devices:read"])
    assert bearer(raw).delete(f"/devices/{device.id}").status_code == 403
    assert [action for action, _, _ in recorded(owner)] == ["token.create", "auth.refused"]
