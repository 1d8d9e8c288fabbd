"""Naming a sha grants nothing: bytes are served only to those whose owner holds them.

Security review, item 1: a device (even anonymous, unclaimed) posted a factory
state naming someone else's sha; the object, the step's object list and the
export then handed it their bytes, and making the device public published
them. A step may serve, export or count as public only an object its owner
holds: uploaded (exact bytes, verified) or linked from content that was
already public.
"""

from __future__ import annotations

import hashlib
import io
import tarfile

import pytest

from devices.models import Device

pytestmark = pytest.mark.reliability

SPEC = "pantavisor-service-system@1"
SECRET = b"TOP SECRET firmware key of alice: 066c412f3395c0bb"
S = hashlib.sha256(SECRET).hexdigest()


def upload(api, subject, data: bytes, name: str = "secret.bin") -> dict:
    body = {
        "objectname": name,
        "size": str(len(data)),
        "sha256sum": hashlib.sha256(data).hexdigest(),
    }
    answer = api.as_(subject).post("/objects/", body, format="json")
    assert answer.status_code == 200, answer.content
    put = api.generic("PUT", answer.json()["signed-puturl"], data, "application/octet-stream")
    assert put.status_code == 200, put.content
    return answer.json()


@pytest.fixture
def alice_secret(api, owner, make_device):
    """alice uploads a secret object for her private device."""
    upload(api, owner, SECRET)
    return S


def register_anonymously(api) -> tuple[dict, str]:
    api.as_(None)
    device = api.post("/devices/", {}, format="json").json()
    token = api.post(
        "/auth/login", {"username": device["prn"], "password": device["secret"]}, format="json"
    ).json()["token"]
    return device, token


def as_token(api, token: str):
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return api


def test_an_anonymous_device_naming_a_sha_does_not_get_its_bytes(api, alice_secret):
    device, token = register_anonymously(api)
    posted = as_token(api, token).post("/trails/", {"#spec": SPEC, "x.bin": S}, format="json")
    assert posted.status_code == 200, (
        posted.content
    )  # a factory state may name what is not uploaded

    assert as_token(api, token).get(f"/objects/{S}").status_code in (403, 404)
    listed = as_token(api, token).get(f"/trails/{device['id']}/steps/0/objects").json()
    assert [(o["sha256sum"], o.get("signed-geturl", "")) for o in listed] == [(S, "")]
    one = as_token(api, token).get(f"/trails/{device['id']}/steps/0/objects/{S}")
    assert one.status_code == 200 and not one.json().get("signed-geturl"), one.content


def test_a_claimed_public_device_naming_a_sha_neither_exports_nor_publishes_it(
    api, alice_secret, outsider, make_user
):
    device, token = register_anonymously(api)
    as_token(api, token).post("/trails/", {"#spec": SPEC, "loot.bin": S}, format="json")
    bob = make_user("bob")
    claimed = api.as_(bob).put(f"/devices/{device['id']}?challenge={device['challenge']}")
    assert claimed.status_code == 200, claimed.content
    nick = Device.objects.get(pk=device["id"]).nick
    assert api.as_(bob).put(f"/devices/{device['id']}/public").status_code == 200

    export = api.as_(None).get(f"/exports/bob/{nick}/0/loot.tar.gz")
    assert export.status_code == 409, export.content  # incomplete: the object is not bob's
    assert export.json()["missing"] == [S]
    assert api.as_(None).get(f"/objects/{S}").status_code in (401, 404)
    assert api.as_(bob).get(f"/objects/{S}").status_code == 404
    # Nobody gets it as a link to "public" content: they must upload it themselves.
    again = api.as_(outsider).post(
        "/objects/", {"objectname": "x", "size": str(len(SECRET)), "sha256sum": S}, format="json"
    )
    assert again.status_code == 200, again.content
    assert again.json()["signed-puturl"]


def test_a_device_that_uploads_what_its_factory_state_named_serves_it(api, make_user):
    """Proof of possession: once the exact bytes arrive from the device, they are served."""
    device, token = register_anonymously(api)
    as_token(api, token).post("/trails/", {"#spec": SPEC, "fw.bin": S}, format="json")
    bob = make_user("bob")
    api.as_(bob).put(f"/devices/{device['id']}?challenge={device['challenge']}")
    as_token(api, token)
    body = {"objectname": "fw.bin", "size": str(len(SECRET)), "sha256sum": S}
    granted = api.post("/objects/", body, format="json")
    assert granted.status_code == 200, granted.content
    assert api.generic("PUT", granted.json()["signed-puturl"], SECRET).status_code == 200

    nick = Device.objects.get(pk=device["id"]).nick
    export = api.as_(bob).get(f"/exports/bob/{nick}/0/fw.tar.gz")
    assert export.status_code == 200, export.content
    with tarfile.open(fileobj=io.BytesIO(b"".join(export.streaming_content)), mode="r:gz") as tar:
        assert tar.extractfile(f"objects/{S}").read() == SECRET
