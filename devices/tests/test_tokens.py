import hashlib

import pytest

from devices.models import AutoToken, Device
from devices.services import create_auto_token
from devices.tests.conftest import device_token, register

pytestmark = pytest.mark.django_db

HEADER = "HTTP_PANTAHUB_DEVICES_AUTO_TOKEN_V1"


def test_it_creates_a_token_shown_once_and_stored_hashed(api, owner):
    response = api.as_(owner).post(
        "/devices/tokens",
        {"description": "line 2", "default-user-meta": {"site": "factory"}},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    raw = body["token"]
    token = AutoToken.objects.get(id=body["id"])
    assert token.owner == owner
    assert token.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw.startswith(token.prefix) and body["prefix"] == token.prefix
    assert body["default-user-meta"] == {"site": "factory"}
    assert body["disabled"] is False
    # Nothing stored holds the token itself, and listing never shows it.
    assert raw not in str(AutoToken.objects.values().get())
    listed = api.get("/devices/tokens/")
    assert listed.status_code == 200
    assert raw not in listed.content.decode()
    assert [t["id"] for t in listed.json()] == [token.id]
    assert "token" not in listed.json()[0]


def test_it_lists_only_the_callers_tokens(api, owner, outsider):
    create_auto_token(owner, "alice's")
    create_auto_token(outsider, "mallory's")
    body = api.as_(owner).get("/devices/tokens").json()
    assert [t["description"] for t in body] == ["alice's"]


def test_a_device_registering_with_a_token_belongs_to_its_owner_with_default_meta(api, owner):
    token, raw = create_auto_token(owner, "line 2", {"site": "factory", "ring": "beta"})
    response = register(api, {"user-meta": {"site": "device-says", "extra": 1}}, **{HEADER: raw})
    assert response.status_code == 200
    body = response.json()
    device = Device.objects.get(id=body["id"])
    assert device.owner == owner
    assert device.challenge == "" and "challenge" not in body
    # The owner's defaults win over what the device sent.
    assert device.user_meta == {"site": "factory", "ring": "beta", "extra": 1}
    assert body["user-meta"] == device.user_meta
    token.refresh_from_db()
    assert token.use_count == 1 and token.last_used is not None
    # The device logs in with its secret like any other.
    assert device_token(api, body["prn"], body["secret"])


def test_a_factory_device_gets_a_free_nick_when_its_own_is_taken(api, owner, device):
    _, raw = create_auto_token(owner)
    body = register(api, {"nick": "kiosk"}, **{HEADER: raw}).json()
    assert body["nick"] == "kiosk-2"


def test_an_unknown_token_is_refused_and_creates_nothing(api):
    response = register(api, {}, **{HEADER: "thd_not-a-real-token"})
    assert response.status_code == 401
    assert response.json()["code"] == "bad-auto-token"
    assert not Device.objects.exists()


def test_a_disabled_token_is_refused_and_creates_nothing(api, owner):
    token, raw = create_auto_token(owner)
    response = api.as_(owner).delete(f"/devices/tokens/{token.id}")
    assert response.status_code == 200
    assert response.json()["disabled"] is True
    api.as_(None)
    response = register(api, {}, **{HEADER: raw})
    assert response.status_code == 403
    assert response.json()["code"] == "auto-token-disabled"
    assert not Device.objects.exists()


def test_only_the_owner_disables_a_token(api, owner, outsider):
    token, _ = create_auto_token(owner)
    assert api.as_(outsider).delete(f"/devices/tokens/{token.id}").status_code == 404
    token.refresh_from_db()
    assert token.disabled is False


@pytest.mark.parametrize(
    ("body", "status"),
    [({"default-user-meta": "nope"}, 400), ({"default-user-meta": {"k": "x" * 70_000}}, 413)],
)
def test_it_refuses_bad_default_user_meta(api, owner, body, status):
    assert api.as_(owner).post("/devices/tokens", body, format="json").status_code == status
    assert not AutoToken.objects.exists()


def test_devices_and_anonymous_callers_cannot_manage_tokens(api, device):
    assert api.get("/devices/tokens").status_code == 401
    assert api.as_(device).get("/devices/tokens").status_code == 403
    assert api.as_(device).post("/devices/tokens", {}, format="json").status_code == 403
    assert not AutoToken.objects.exists()
