"""Scoped tokens (``/auth/tokens``): made once, kept hashed, limited to their scopes and
to their owner's rights, ended by expiry, revocation and "log out everywhere"."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from portal.models import ApiToken
from portal.scopes import grants, required_scope
from portal.tokens import issue

pytestmark = pytest.mark.django_db


def make_token(api, person, scopes, name="ci", **more):
    response = api.as_(person).post(
        "/auth/tokens", {"name": name, "scopes": scopes, **more}, format="json"
    )
    assert response.status_code == 201, response.json()
    return response.json()


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_it_answers_the_token_once_and_keeps_only_its_hash(api, owner):
    made = make_token(api, owner, ["devices:read"], **{"expires-in": 3600})
    token = made["token"]
    assert token.startswith("tht_") and len(token) > 40
    assert made["prefix"] == token[:8]
    row = ApiToken.objects.get(pk=made["id"])
    assert row.digest == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(row.__dict__)
    assert abs((row.expires_at - timezone.now()) - dt.timedelta(hours=1)) < dt.timedelta(minutes=1)
    listed = api.as_(owner).get("/auth/tokens").json()
    assert [item["name"] for item in listed] == ["ci"]
    assert "token" not in listed[0]
    assert listed[0]["scopes"] == ["devices:read"] and listed[0]["last-used"] is None


def test_it_lives_thirty_days_when_no_lifetime_is_given(api, owner):
    made = make_token(api, owner, ["trails:read"])
    lifetime = ApiToken.objects.get(pk=made["id"]).expires_at - timezone.now()
    assert dt.timedelta(days=29, hours=23) < lifetime <= dt.timedelta(days=30)


def test_a_read_scope_reads_and_cannot_write(api, owner, device):
    token = make_token(api, owner, ["devices:read"])["token"]
    client = bearer(token)
    assert [d["id"] for d in client.get("/devices").json()] == [device.id]
    refused = client.put(f"/devices/{device.id}/user-meta", {"a": "1"}, format="json")
    assert refused.status_code == 403
    assert refused.json()["code"] == "scope-missing"
    device.refresh_from_db()
    assert device.user_meta == {}


def test_a_write_scope_writes_and_reads_its_own_resource_only(api, owner, device):
    client = bearer(make_token(api, owner, ["devices:write"])["token"])
    assert (
        client.put(f"/devices/{device.id}/user-meta", {"a": "1"}, format="json").status_code == 200
    )
    assert client.get(f"/devices/{device.id}").status_code == 200
    assert client.get(f"/trails/{device.id}/steps").json()["code"] == "scope-missing"


def test_a_token_never_exceeds_its_owners_rights(api, owner, outsider, make_device):
    theirs = make_device(outsider, nick="private-one")
    client = bearer(make_token(api, owner, ["devices:write"])["token"])
    assert client.get(f"/devices/{theirs.id}").status_code == 404
    answer = client.put(f"/devices/{theirs.id}/user-meta", {"a": "1"}, format="json")
    assert answer.status_code == 404
    theirs.refresh_from_db()
    assert theirs.user_meta == {}


def test_a_scoped_token_may_ask_who_it_is_and_nothing_else_under_auth(api, owner):
    client = bearer(make_token(api, owner, ["devices:write", "packs:read"])["token"])
    claims = client.get("/auth/auth_status").json()
    assert claims["nick"] == "alice" and claims["prn"] == owner.prn
    assert claims["scopes"] == "devices:write packs:read"
    for answer in (
        client.get("/auth/login"),  # a refresh
        client.get("/auth/tokens"),
        client.post("/auth/tokens", {"name": "more", "scopes": ["devices:write"]}, format="json"),
        client.post("/auth/logout-everywhere"),
    ):
        assert answer.status_code == 403
        assert answer.json()["code"] == "scope-login-only"
    assert ApiToken.objects.count() == 1


def test_an_expired_token_is_a_401_that_says_so(api, owner):
    made = make_token(api, owner, ["devices:read"])
    ApiToken.objects.filter(pk=made["id"]).update(expires_at=timezone.now())
    answer = bearer(made["token"]).get("/devices")
    assert answer.status_code == 401
    assert answer.json()["code"] == "token-expired"
    assert "ph-aeps" in answer["WWW-Authenticate"]


def test_a_revoked_token_stops_at_once(api, owner):
    made = make_token(api, owner, ["devices:read"])
    revoked = api.as_(owner).delete(f"/auth/tokens/{made['id']}")
    assert revoked.status_code == 200 and revoked.json()["name"] == "ci"
    answer = bearer(made["token"]).get("/devices")
    assert answer.status_code == 401 and answer.json()["code"] == "token-invalid"


def test_nobody_else_can_list_or_revoke_a_token(api, owner, outsider, device):
    made = make_token(api, owner, ["devices:read"])
    assert api.as_(outsider).get("/auth/tokens").json() == []
    assert api.as_(outsider).delete(f"/auth/tokens/{made['id']}").status_code == 404
    assert api.as_(device).get("/auth/tokens").json()["code"] == "person-only"
    anonymous = api.as_(None).get("/auth/tokens")
    assert anonymous.status_code == 401 and "ph-aeps" in anonymous["WWW-Authenticate"]
    assert ApiToken.objects.filter(pk=made["id"]).exists()


def test_a_disabled_account_s_tokens_stop(api, owner):
    token = make_token(api, owner, ["devices:read"])["token"]
    owner.is_active = False
    owner.save()
    assert bearer(token).get("/devices").status_code == 401


def test_logging_out_everywhere_ends_scoped_tokens_too(api, owner):
    token = make_token(api, owner, ["devices:read"])["token"]
    assert api.as_(owner).post("/auth/logout-everywhere").status_code == 204
    assert bearer(token).get("/devices").status_code == 401
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"name": "x", "scopes": ["devices:admin"]}, "invalid_choice"),
        ({"name": "x", "scopes": []}, "min_length"),
        ({"name": "x", "scopes": "devices:read"}, "not_a_list"),
        ({"name": "", "scopes": ["devices:read"]}, "blank"),
        ({"name": "x", "scopes": ["devices:read"], "expires-in": 59}, "min_value"),
        ({"name": "x", "scopes": ["devices:read"], "expires-in": 367 * 86400}, "max_value"),
    ],
)
def test_it_refuses_a_bad_request_and_makes_nothing(api, owner, body, code):
    answer = api.as_(owner).post("/auth/tokens", body, format="json")
    assert answer.status_code == 400
    assert answer.json()["code"] == code
    assert not ApiToken.objects.exists()


def test_a_name_is_used_once_per_person(api, owner, outsider):
    make_token(api, owner, ["devices:read"], name="ci")
    again = api.as_(owner).post(
        "/auth/tokens", {"name": "ci", "scopes": ["devices:read"]}, format="json"
    )
    assert again.status_code == 409 and again.json()["code"] == "name-taken"
    make_token(api, outsider, ["devices:read"], name="ci")
    assert ApiToken.objects.count() == 2


def test_last_use_is_written_at_most_once_a_minute(api, owner, django_assert_num_queries):
    made = make_token(api, owner, ["devices:read"])
    client = bearer(made["token"])
    client.get("/devices")
    first = ApiToken.objects.get(pk=made["id"]).last_used
    assert first is not None
    client.get("/devices")
    assert ApiToken.objects.get(pk=made["id"]).last_used == first
    ApiToken.objects.filter(pk=made["id"]).update(last_used=first - dt.timedelta(minutes=2))
    client.get("/devices")
    assert ApiToken.objects.get(pk=made["id"]).last_used > first


@pytest.mark.parametrize(
    ("method", "path", "needed"),
    [
        ("GET", "/devices", "devices:read"),
        ("GET", "/devices/", "devices:read"),
        ("POST", "/devices/abc/fork", "devices:write"),
        ("HEAD", "/logs/", "devices:read"),
        ("PUT", "/community/x", "devices:write"),
        ("GET", "/trails/abc/steps", "trails:read"),
        ("POST", "/trails/abc/steps", "trails:write"),
        ("GET", "/exports/abc/1", "trails:read"),
        ("POST", "/objects", "objects:write"),
        ("DELETE", "/packs/p/followers/d", "packs:write"),
        ("GET", "/auth/auth_status", ""),
        ("GET", "/auth/auth_status/", ""),
        ("POST", "/auth/auth_status", None),
        ("GET", "/auth/login", None),
        ("GET", "/auth/tokens", None),
        ("GET", "/metrics", None),
        ("GET", "/devicesx", None),
    ],
)
def test_each_path_needs_the_scope_of_its_resource(method, path, needed):
    assert required_scope(method, path) == needed


def test_a_write_scope_covers_its_read_and_nothing_else():
    assert grants(["devices:write"], "devices:read")
    assert grants(["devices:read"], "devices:read")
    assert not grants(["devices:read"], "devices:write")
    assert not grants(["devices:write"], "trails:read")
    assert not grants(["trails:write"], "devices:write")


def test_the_tokens_page_makes_a_token_shows_it_once_and_lists_it(client, owner):
    client.force_login(owner)
    page = client.post(
        "/accounts/tokens/", {"name": "deploy", "scopes": ["trails:write"], "days": "7"}
    )
    assert page.status_code == 200
    raw = page.context["new_token"]["raw"]
    assert raw.startswith("tht_") and raw in page.content.decode()
    row = ApiToken.objects.get(owner=owner)
    assert row.name == "deploy" and row.scopes == ["trails:write"]
    assert dt.timedelta(days=6, hours=23) < row.expires_at - timezone.now() <= dt.timedelta(days=7)
    again = client.get("/accounts/tokens/").content.decode()
    assert "deploy" in again and row.prefix in again and raw not in again


def test_the_tokens_page_says_a_name_is_taken_on_the_name(client, owner):
    client.force_login(owner)
    body = {"name": "deploy", "scopes": ["trails:write"], "days": "30"}
    client.post("/accounts/tokens/", body)
    page = client.post("/accounts/tokens/", body)
    assert page.context["form"].errors == {"name": ["you already have a token called 'deploy'"]}
    assert ApiToken.objects.count() == 1


def test_revoking_on_the_page_asks_first(client, owner, outsider):
    row, raw = issue(owner, "deploy", ["devices:read"])
    client.force_login(owner)
    asked = client.get(f"/accounts/tokens/{row.id}/revoke/")
    assert asked.status_code == 200 and "Revoke the token" in asked.content.decode()
    assert ApiToken.objects.filter(pk=row.pk).exists()
    client.force_login(outsider)
    assert client.post(f"/accounts/tokens/{row.id}/revoke/").status_code == 404
    client.force_login(owner)
    assert client.post(f"/accounts/tokens/{row.id}/revoke/").status_code == 302
    assert not ApiToken.objects.filter(pk=row.pk).exists()
