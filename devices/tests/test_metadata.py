import pytest

from devices.models import Device
from devices.tests.conftest import snapshot

pytestmark = pytest.mark.django_db


def test_the_owner_replaces_user_meta_with_put(api, owner, device):
    device.user_meta = {"old": 1}
    device.save()
    response = api.as_(owner).put(f"/devices/{device.id}/user-meta", {"a": "1"}, format="json")
    assert response.status_code == 200
    assert response.json() == {"a": "1"}
    assert Device.objects.get(id=device.id).user_meta == {"a": "1"}


def test_patch_merges_user_meta_and_null_removes_a_key(api, owner, device):
    device.user_meta = {"keep": 1, "change": 1, "drop": 1}
    device.save()
    response = api.as_(owner).patch(
        f"/devices/{device.id}/user-meta",
        {"change": {"nested": True}, "drop": None, "new": "x"},
        format="json",
    )
    assert response.status_code == 200
    expected = {"keep": 1, "change": {"nested": True}, "new": "x"}
    assert response.json() == expected
    assert Device.objects.get(id=device.id).user_meta == expected


def test_the_device_reads_its_user_meta(api, owner, device):
    api.as_(owner).put(f"/devices/{device.id}/user-meta", {"wifi": "lab"}, format="json")
    response = api.as_(device).get(f"/devices/{device.id}/user-meta/")
    assert response.status_code == 200
    assert response.json() == {"wifi": "lab"}


def test_the_device_writes_device_meta_and_the_owner_reads_it(api, owner, device):
    api.as_(device)
    assert api.put(
        f"/devices/{device.id}/device-meta", {"arch": "arm64", "uptime": 1}, format="json"
    ).json() == {"arch": "arm64", "uptime": 1}
    assert api.patch(
        f"/devices/{device.id}/device-meta", {"uptime": 2, "arch": None}, format="json"
    ).json() == {"uptime": 2}
    api.as_(owner)
    assert api.get(f"/devices/{device.id}").json()["device-meta"] == {"uptime": 2}
    assert api.get(f"/devices/{device.id}/device-meta").json() == {"uptime": 2}


def test_a_device_cannot_write_its_user_meta(api, device):
    before = snapshot(device)
    for method in ("put", "patch"):
        response = getattr(api.as_(device), method)(
            f"/devices/{device.id}/user-meta", {"x": 1}, format="json"
        )
        assert response.status_code == 403
        assert response.json()["code"] == "owner-only"
    assert snapshot(device) == before


def test_the_owner_cannot_write_device_meta(api, owner, device):
    before = snapshot(device)
    response = api.as_(owner).put(f"/devices/{device.id}/device-meta", {"x": 1}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "device-only"
    assert snapshot(device) == before


def test_a_device_cannot_write_another_devices_meta(api, device, sibling):
    sibling.public = True
    sibling.save()
    before = snapshot(sibling)
    response = api.as_(device).put(f"/devices/{sibling.id}/device-meta", {"x": 1}, format="json")
    assert response.status_code == 403
    assert snapshot(sibling) == before


@pytest.mark.parametrize("body", [[1, 2], "text", 5, True])
@pytest.mark.parametrize("field", ["user-meta", "device-meta"])
@pytest.mark.parametrize("method", ["put", "patch"])
def test_metadata_must_be_an_object(api, owner, device, body, field, method):
    before = snapshot(device)
    caller = owner if field == "user-meta" else device
    response = getattr(api.as_(caller), method)(
        f"/devices/{device.id}/{field}", body, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "not-an-object"
    assert snapshot(device) == before


def test_oversized_metadata_is_refused_even_when_a_merge_makes_it_so(api, owner, device, settings):
    settings.DEVICE_META_MAX_BYTES = 100
    api.as_(owner)
    response = api.put(f"/devices/{device.id}/user-meta", {"a": "x" * 50}, format="json")
    assert response.status_code == 200
    before = snapshot(device)
    response = api.patch(f"/devices/{device.id}/user-meta", {"b": "y" * 50}, format="json")
    assert response.status_code == 413
    assert response.json()["code"] == "too-large"
    assert "limit is 100" in response.json()["error"]
    assert snapshot(device) == before
    big = api.as_(device).put(f"/devices/{device.id}/device-meta", {"c": "z" * 200}, format="json")
    assert big.status_code == 413
    assert snapshot(device) == before


def test_outsiders_see_a_public_device_without_its_metadata(api, outsider, device):
    device.public = True
    device.user_meta = {"secret-ish": "wifi password"}
    device.device_meta = {"serial": "123"}
    device.save()
    body = api.as_(outsider).get(f"/devices/{device.id}").json()
    assert "user-meta" not in body and "device-meta" not in body
    response = api.get(f"/devices/{device.id}/user-meta")
    assert response.status_code == 403
    assert "wifi" not in response.content.decode()
