"""The audit log (portal/audit.py): the account's own changes, who made them and how,
the API (``GET /audit``), the page, the admin and the retention."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from conftest import PASSWORD
from portal import audit, tokens
from portal.models import AuditEntry
from portal.tasks import prune_audit_log
from portal.tests.test_two_factor import code

pytestmark = pytest.mark.django_db

PEM = (
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEzmz0pXRY/IFPFFooXNwu7rNb+tpN\n"
    "QKLXT8+MWXodtogy+4ACDDQAIIuCnVfP2sy929C9LS2mO6sZARza0P0kMg==\n"
    "-----END PUBLIC KEY-----\n"
)


def entries(owner, action=None):
    rows = AuditEntry.objects.filter(owner=owner)
    return list(rows.filter(action=action) if action else rows)


def only(owner, action) -> AuditEntry:
    found = entries(owner, action)
    assert len(found) == 1, [(e.action, e.after) for e in entries(owner)]
    return found[0]


def bearer(token: str, address: str = "127.0.0.1") -> APIClient:
    client = APIClient(REMOTE_ADDR=address)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def scoped(owner, scopes, name="ci") -> tuple[str, str]:
    row, raw = tokens.issue(owner, name, scopes)
    return row.id, raw


# --- Who, how and from where ------------------------------------------------------------


def test_it_records_a_token_made_over_the_api_with_a_password_login(api, owner):
    made = api.as_(owner).post(
        "/auth/tokens", {"name": "ci", "scopes": ["trails:write"]}, REMOTE_ADDR="198.51.100.4"
    )
    assert made.status_code == 201
    entry = only(owner, "token.create")
    assert (entry.actor, entry.actor_kind, entry.via) == ("alice", "person", "password")
    assert entry.person == owner and entry.token is None
    assert entry.address == "198.51.100.4"
    assert entry.target == f"apitoken:{made.json()['id']}" and entry.target_name == "ci"
    assert entry.after["scopes"] == ["trails:write"] and entry.after["prefix"].startswith("tht_")
    # Never the token, nor its hash.
    assert made.json()["token"] not in json.dumps(entry.after)
    assert tokens.ApiToken.objects.get().digest not in json.dumps(entry.after)


def test_it_records_a_revocation_from_the_page_as_a_session(client, owner):
    token_id, _ = scoped(owner, ["devices:read"])
    client.force_login(owner)
    answer = client.post(f"/accounts/tokens/{token_id}/revoke/", REMOTE_ADDR="203.0.113.9")
    assert answer.status_code == 302
    entry = only(owner, "token.revoke")
    assert (entry.via, entry.address, entry.target) == (
        "session",
        "203.0.113.9",
        f"apitoken:{token_id}",
    )
    assert entry.before["name"] == "ci" and entry.after is None


@pytest.mark.parametrize("proxies, address", [(1, "198.51.100.77"), (0, "10.0.0.2")])
def test_it_believes_x_forwarded_for_only_behind_a_trusted_proxy(
    api, owner, settings, proxies, address
):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": proxies}
    api.as_(owner).post(
        "/auth/tokens",
        {"name": "ci", "scopes": ["devices:read"]},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="198.51.100.77",
    )
    assert only(owner, "token.create").address == address


def test_a_scoped_token_refused_a_scope_is_recorded_and_changes_nothing(owner, device):
    token_id, raw = scoped(owner, ["devices:read"], name="ci-deploy")
    refused = bearer(raw, "192.0.2.33").delete(f"/devices/{device.id}")
    assert refused.status_code == 403 and refused.json()["code"] == "scope-missing"
    entry = only(owner, "auth.refused")
    assert (entry.via, entry.token_id, entry.token_name) == ("token", token_id, "ci-deploy")
    assert entry.address == "192.0.2.33"
    assert entry.after == {
        "method": "DELETE",
        "path": f"/devices/{device.id}",
        "code": "scope-missing",
    }
    assert not entries(owner, "device.delete")
    device.refresh_from_db()


def test_an_expired_or_login_only_use_is_recorded_an_unknown_token_is_not(owner, outsider):
    token_id, raw = scoped(owner, ["devices:read"])
    assert bearer(raw).get("/auth/tokens").json()["code"] == "scope-login-only"
    tokens.ApiToken.objects.filter(pk=token_id).update(expires_at=timezone.now())
    assert bearer(raw).get("/devices").json()["code"] == "token-expired"
    codes = [entry.after["code"] for entry in entries(owner, "auth.refused")]
    assert sorted(codes) == ["scope-login-only", "token-expired"]
    assert bearer("tht_" + "x" * 43).get("/devices").status_code == 401
    assert AuditEntry.objects.filter(action="auth.refused").count() == 2


def test_a_change_that_fails_records_nothing(api, owner):
    scoped(owner, ["devices:read"], name="ci")
    taken = api.as_(owner).post("/auth/tokens", {"name": "ci", "scopes": ["devices:read"]})
    assert taken.status_code == 409
    bad = api.as_(owner).post("/auth/signing-keys", {"name": "k", "pem": "not a key"})
    assert bad.status_code == 400
    assert [entry.action for entry in entries(owner)] == ["token.create"]


def test_the_actor_outside_a_request_is_the_system_named_after_the_task(owner):
    assert audit.current_actor() == audit.Actor("system", "system")
    with audit.as_system("packs.tasks.deliver"):
        tokens.issue(owner, "from-a-task", ["devices:read"])
    entry = only(owner, "token.create")
    assert (entry.actor_kind, entry.actor, entry.via, entry.address) == (
        "system",
        "packs.tasks.deliver",
        "task",
        "",
    )


# --- What the account's own actions record --------------------------------------------


def test_signing_keys_added_and_removed_are_recorded_without_their_pem(api, owner):
    added = api.as_(owner).post("/auth/signing-keys", {"name": "release", "pem": PEM}).json()
    api.as_(owner).delete(f"/auth/signing-keys/{added['id']}")
    add, remove = only(owner, "signing-key.add"), only(owner, "signing-key.remove")
    assert add.after == {
        "name": "release",
        "kind": "key",
        "fingerprint": added["fingerprint"],
        "user": None,
    }
    assert remove.before == add.after and remove.target == f"signingkey:{added['id']}"
    assert "BEGIN PUBLIC KEY" not in json.dumps([add.after, remove.before])


def test_a_password_change_and_log_out_everywhere_are_recorded(client, owner):
    client.force_login(owner)
    changed = client.post(
        "/accounts/password_change/",
        {
            "old_password": PASSWORD,
            "new_password1": "a new horse battery staple",
            "new_password2": "a new horse battery staple",
        },
    )
    assert changed.status_code == 302
    entry = only(owner, "account.password")
    assert entry.via == "session" and entry.before is None and entry.after is None
    client.post("/accounts/logout-everywhere/")
    assert only(owner, "account.logout-everywhere").via == "session"


def test_a_wrong_old_password_records_nothing(client, owner):
    client.force_login(owner)
    refused = client.post(
        "/accounts/password_change/",
        {"old_password": "wrong", "new_password1": "x" * 20, "new_password2": "x" * 20},
    )
    assert refused.status_code == 200
    assert not entries(owner)


def test_a_new_account_records_no_password_change(make_user):
    assert not entries(make_user("bob"))


def test_two_factor_on_and_off_are_recorded(client, owner):
    client.force_login(owner)
    client.get("/accounts/two-factor/setup/")
    wrong = client.post("/accounts/two-factor/setup/", {"code": "000000x"})
    assert wrong.status_code == 200 and not entries(owner)
    client.post("/accounts/two-factor/setup/", {"code": code(TOTPDevice.objects.get(user=owner))})
    assert only(owner, "two-factor.on").after == {"two-factor": True}
    client.post("/accounts/two-factor/off/", {"proof": PASSWORD})
    assert only(owner, "two-factor.off").after == {"two-factor": False}


# --- Snapshots ----------------------------------------------------------------------------


def test_a_snapshot_leaves_secrets_out_and_stays_small():
    kept = audit.snapshot({"url": "https://x", "secret": "s3", "nested": {"password": "p"}})
    assert kept == {"url": "https://x", "nested": {}}
    big = audit.snapshot({f"field{n}": "x" * 100 for n in range(40)})
    assert big["truncated"] is True and len(json.dumps(big)) <= audit.MAX_SNAPSHOT_BYTES


def test_it_refuses_an_action_not_in_the_table(owner):
    with pytest.raises(ValueError):
        audit.record("token.made", owner=owner)


# --- GET /audit -----------------------------------------------------------------------


def _seed(owner, *actions_and_times):
    for action, days_ago in actions_and_times:
        entry = audit.record(action, owner=owner, after={"n": days_ago})
        AuditEntry.objects.filter(pk=entry.pk).update(
            time=timezone.now() - dt.timedelta(days=days_ago)
        )


def test_the_api_lists_the_callers_entries_newest_first(api, owner, outsider):
    _seed(owner, ("token.create", 3), ("device.claim", 1), ("token.revoke", 2))
    _seed(outsider, ("token.create", 0))
    listed = api.as_(owner).get("/audit/")
    assert listed.status_code == 200
    assert [item["action"] for item in listed.json()] == [
        "device.claim",
        "token.revoke",
        "token.create",
    ]
    item = listed.json()[0]
    assert set(item) == {
        "id",
        "time",
        "action",
        "actor",
        "actor-kind",
        "via",
        "token",
        "address",
        "target",
        "target-name",
        "before",
        "after",
    }
    assert item["after"] == {"n": 1} and item["token"] is None


def test_the_api_filters_by_action_group_since_and_target(api, owner, device):
    _seed(owner, ("token.create", 3), ("token.revoke", 2), ("device.claim", 1))
    audit.record("device.update", owner=owner, target=device, after={"nick": "x"})
    client = api.as_(owner)
    assert [i["action"] for i in client.get("/audit?action=token.revoke").json()] == [
        "token.revoke"
    ]
    assert len(client.get("/audit?action=token").json()) == 2
    since = (timezone.now() - dt.timedelta(days=2, hours=1)).isoformat()
    recent = client.get("/audit", {"since": since}).json()
    assert [i["action"] for i in recent] == ["device.update", "device.claim", "token.revoke"]
    for target in (device.id, f"device:{device.id}"):
        assert [i["action"] for i in client.get("/audit", {"target": target}).json()] == [
            "device.update"
        ]


def test_the_api_pages_with_limit_and_page(api, owner):
    _seed(owner, *[("token.create", n) for n in range(5)])
    client = api.as_(owner)
    first = client.get("/audit?limit=2").json()
    third = client.get("/audit?limit=2&page=3").json()
    assert [i["after"]["n"] for i in first] == [0, 1]
    assert [i["after"]["n"] for i in third] == [4]
    assert client.get("/audit?limit=2&page=4").json() == []


@pytest.mark.parametrize(
    "query, code",
    [
        ("action=token.made", "bad-action"),
        ("since=yesterday", "bad-since"),
        ("since=2026-13-40", "bad-since"),
        ("target=" + "x" * 81, "bad-target"),
        ("limit=0", "bad-limit"),
        ("page=-1", "bad-page"),
    ],
)
def test_the_api_refuses_a_filter_it_cannot_read(api, owner, query, code):
    answer = api.as_(owner).get(f"/audit?{query}")
    assert answer.status_code == 400 and answer.json()["code"] == code


def test_a_scoped_token_reads_the_log_with_audit_read_only(owner):
    _, reader = scoped(owner, ["audit:read"], name="reader")
    _, other = scoped(owner, ["devices:write"], name="other")
    assert bearer(reader).get("/audit").status_code == 200
    refused = bearer(other).get("/audit")
    assert refused.status_code == 403 and refused.json()["code"] == "scope-missing"
    # The refusal itself is listed, with the token that was refused.
    listed = bearer(reader).get("/audit?action=auth.refused").json()
    assert [(i["token"]["name"], i["after"]["path"]) for i in listed] == [("other", "/audit")]


def test_a_device_and_an_anonymous_caller_are_refused(api, device):
    assert api.as_(device).get("/audit").json()["code"] == "person-only"
    assert APIClient().get("/audit").status_code == 401


# --- The page ------------------------------------------------------------------------------


def test_the_page_lists_filters_and_pages(client, owner, outsider, django_assert_max_num_queries):
    _seed(owner, *[("token.create", n) for n in range(55)], ("device.claim", 60))
    _seed(outsider, ("device.delete", 0))
    client.force_login(owner)
    with django_assert_max_num_queries(8):
        page = client.get("/accounts/audit/")
    text = page.content.decode()
    assert page.status_code == 200
    assert (
        text.count('data-action="token.create"') == 50 and 'data-action="device.delete"' not in text
    )
    assert "Page 1 of 2" in text and "page=2" in text
    second = client.get("/accounts/audit/?page=2").content.decode()
    assert (
        second.count('data-action="token.create"') == 5 and 'data-action="device.claim"' in second
    )
    claims = client.get("/accounts/audit/?action=device.claim").content.decode()
    assert claims.count("<tr data-action=") == 1


def test_the_page_says_so_for_a_bad_filter(client, owner):
    client.force_login(owner)
    answer = client.get("/accounts/audit/?since=soon")
    assert answer.status_code == 400 and "since must be a date" in answer.content.decode()


def test_the_profile_links_the_page(client, owner):
    client.force_login(owner)
    assert 'href="/accounts/audit/"' in client.get("/accounts/profile/").content.decode()


# --- Admin and retention -------------------------------------------------------------------


def test_the_admin_shows_entries_and_changes_none(admin_client, owner):
    entry = audit.record("token.create", owner=owner, after={"name": "ci"})
    assert admin_client.get("/admin/portal/auditentry/?action=token.create").status_code == 200
    assert admin_client.get(f"/admin/portal/auditentry/{entry.pk}/change/").status_code == 200
    assert admin_client.get("/admin/portal/auditentry/add/").status_code == 403
    admin_client.post(f"/admin/portal/auditentry/{entry.pk}/change/", {"action": "x"})
    entry.refresh_from_db()
    assert entry.action == "token.create"


def test_prune_deletes_what_is_past_retention_and_is_safe_to_run_twice(owner, settings):
    settings.AUDIT_RETENTION_DAYS = 30
    _seed(owner, ("token.create", 31), ("token.revoke", 29))
    assert prune_audit_log() == 1
    assert prune_audit_log() == 0
    assert [entry.action for entry in entries(owner)] == ["token.revoke"]


def test_prune_is_on_the_beat(settings):
    beat = settings.CELERY_BEAT_SCHEDULE["portal.prune-audit-log"]
    assert beat["task"] == "portal.tasks.prune_audit_log"


def test_the_operations_guide_lists_every_action(settings):
    guide = (settings.BASE_DIR / "docs" / "operations.md").read_text()
    for action, meaning in audit.ACTIONS.items():
        assert f"| `{action}` | {meaning} |" in guide


def test_an_apps_registration_consent_revocation_and_deletion_are_recorded(owner):
    from portal import oauth
    from portal.tests.test_oauth import REDIRECT, authorised

    app = oauth.register(owner, "dashboard-app", [REDIRECT])
    authorised(owner, app, "devices:read audit:read")
    oauth.revoke(owner, app.client_id)
    client_id = app.client_id
    oauth.unregister(owner, client_id)
    found = {e.action: e for e in entries(owner)}
    assert sorted(found) == ["app.authorise", "app.delete", "app.register", "app.revoke"]
    assert found["app.authorise"].after == {
        "app": "dashboard-app",
        "scopes": ["devices:read", "audit:read"],
    }
    assert found["app.authorise"].via == "session"
    assert found["app.register"].after["client-id"] == client_id
    assert found["app.delete"].before["name"] == "dashboard-app"


def test_an_entry_takes_no_lock_on_the_user_or_token_it_names(owner):
    """The audit log is written inside other writes' transactions. A rollout holds its
    pack's row and then records; adding a follower locks the owner's row and then the
    pack's. A foreign key check on the entry's owner would take a share lock on the user
    row, the other order: PostgreSQL found that deadlock under `make run` with a worker
    (packs.tasks.start_rollout against PUT /packs/<id>/followers/<device>). So the
    database holds no foreign key constraints on the log; deletes cascade in the ORM."""
    from django.db import connection

    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, AuditEntry._meta.db_table)
    assert [name for name, c in constraints.items() if c["foreign_key"]] == []
    audit.record("token.create", owner=owner.id, after={"name": "ci"})
    owner.delete()
    assert not AuditEntry.objects.exists()  # the ORM still cascades
