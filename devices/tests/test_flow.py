"""A device's life over HTTP only: register, be claimed, log in, trade metadata, send logs."""

import pytest
from rest_framework.test import APIClient

from conftest import PASSWORD

pytestmark = pytest.mark.django_db


def bearer(client: APIClient, token: str) -> APIClient:
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_register_claim_login_metadata_and_logs(owner):
    device, person = APIClient(), APIClient()

    # The device registers itself with a secret of its own and shows its challenge.
    registered = device.post("/devices/", {"secret": "s3cret-from-pv"}, format="json").json()
    device_id, challenge = registered["id"], registered["challenge"]
    login = device.post(
        "/auth/login", {"username": registered["prn"], "password": "s3cret-from-pv"}, format="json"
    )
    bearer(device, login.json()["token"])
    assert device.get(f"/devices/{device_id}").json()["challenge"] == challenge

    # A person logs in and claims it.
    token = person.post("/auth/login", {"username": "alice", "password": PASSWORD}).json()["token"]
    bearer(person, token)
    assert person.get(f"/devices/{device_id}").status_code == 404  # not theirs yet
    claimed = person.put(f"/devices/{device_id}?challenge={challenge}")
    assert claimed.status_code == 200
    assert claimed.json()["owner-nick"] == "alice"
    assert [d["id"] for d in person.get("/devices/").json()] == [device_id]

    # The device's token keeps working; refreshed, it names the owner.
    refreshed = device.get("/auth/login").json()["token"]
    bearer(device, refreshed)
    assert device.get("/auth/auth_status").json()["owner"] == owner.prn

    # Metadata both ways.
    person.put(f"/devices/{device_id}/user-meta", {"ssh": "on", "tz": "UTC"}, format="json")
    person.patch(f"/devices/{device_id}/user-meta", {"tz": None}, format="json")
    assert device.get(f"/devices/{device_id}/user-meta").json() == {"ssh": "on"}
    device.put(f"/devices/{device_id}/device-meta", {"pantavisor.version": "019"}, format="json")
    seen = person.get(f"/devices/{device_id}").json()
    assert seen["device-meta"] == {"pantavisor.version": "019"}
    assert seen["online"] is True

    # Logs: the device posts, the owner reads them back.
    batch = [
        {"src": "pantavisor", "lvl": "INFO", "msg": "boot ok", "tsec": 1_700_000_000, "tnano": 0},
        {"src": "app", "lvl": "ERROR", "msg": "crash", "tsec": 1_700_000_001, "tnano": 5},
    ]
    assert device.post("/logs", batch, format="json").status_code == 200
    page = person.get(f"/logs/?dev={registered['prn']}&lvl=ERROR").json()
    assert [e["msg"] for e in page["entries"]] == ["crash"]
    assert page["entries"][0]["dev"] == registered["prn"]
    assert page["next-cursor"] is None
