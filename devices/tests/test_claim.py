import jwt
import pytest
from django.conf import settings

from devices.models import Device
from devices.tests.conftest import device_token, register, snapshot

pytestmark = pytest.mark.django_db


def claim(api, device_id, challenge):
    return api.put(f"/devices/{device_id}?challenge={challenge}")


def test_it_claims_a_device_with_its_challenge(api, owner, unclaimed):
    response = claim(api.as_(owner), unclaimed.id, "maple-river-42")
    assert response.status_code == 200
    body = response.json()
    assert body["owner"] == owner.prn and body["owner-nick"] == "alice"
    assert "challenge" not in body
    unclaimed.refresh_from_db()
    assert unclaimed.owner == owner
    assert unclaimed.challenge == ""


@pytest.mark.parametrize("path", ["/devices/{id}", "/devices/{id}/"])
def test_it_takes_the_challenge_from_the_body_too(api, owner, unclaimed, path):
    response = api.as_(owner).put(
        path.format(id=unclaimed.id), {"challenge": "maple-river-42"}, format="json"
    )
    assert response.status_code == 200
    assert Device.objects.get(id=unclaimed.id).owner == owner


def test_it_forgives_case_and_spaces_in_a_typed_challenge(api, owner, unclaimed):
    assert claim(api.as_(owner), unclaimed.id, "%20Maple-River-42%20").status_code == 200


def test_a_wrong_challenge_is_refused_and_changes_nothing(api, owner, unclaimed):
    before = snapshot(unclaimed)
    response = claim(api.as_(owner), unclaimed.id, "maple-river-43")
    assert response.status_code == 403
    assert response.json()["code"] == "bad-challenge"
    assert "wrong challenge" in response.json()["error"]
    assert snapshot(unclaimed) == before


def test_a_missing_challenge_is_a_clear_400(api, owner, unclaimed):
    response = api.as_(owner).put(f"/devices/{unclaimed.id}")
    assert response.status_code == 400
    assert response.json()["code"] == "challenge-required"
    assert Device.objects.get(id=unclaimed.id).owner is None


def test_claiming_an_owned_device_is_a_conflict_for_those_who_can_see_it(
    api, owner, outsider, device
):
    before = snapshot(device)
    response = claim(api.as_(owner), device.id, "anything")
    assert response.status_code == 409
    assert response.json()["code"] == "already-claimed"
    # A private device stays invisible to others: a 404, not a 409.
    assert claim(api.as_(outsider), device.id, "anything").status_code == 404
    device.public = True
    device.save()
    assert claim(api.as_(outsider), device.id, "anything").status_code == 409
    assert Device.objects.get(id=device.id).owner == owner
    assert snapshot(device)["nick"] == before["nick"]


def test_claiming_an_unknown_device_is_a_404(api, owner):
    assert claim(api.as_(owner), "0123456789abcdef01234567", "x").status_code == 404
    assert claim(api.as_(owner), "not-an-id", "x").status_code == 404


def test_only_a_person_can_claim(api, unclaimed, device):
    assert claim(api, unclaimed.id, "maple-river-42").status_code == 401
    assert claim(api.as_(device), unclaimed.id, "maple-river-42").status_code == 403
    assert claim(api.as_(unclaimed), unclaimed.id, "maple-river-42").status_code == 403
    assert Device.objects.get(id=unclaimed.id).owner is None


def test_wrong_challenges_are_throttled_per_device(api, owner, unclaimed, settings):
    settings.CLAIM_MAX_FAILURES = 3
    for _ in range(3):
        assert claim(api.as_(owner), unclaimed.id, "guess-guess-00").status_code == 403
    response = claim(api.as_(owner), unclaimed.id, "maple-river-42")
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert Device.objects.get(id=unclaimed.id).owner is None


def test_a_claimed_nick_that_the_owner_uses_gets_a_suffix(api, owner, make_device, unclaimed):
    make_device(owner, nick="gentle-finch")
    body = claim(api.as_(owner), unclaimed.id, "maple-river-42").json()
    assert body["nick"] == "gentle-finch-2"


def test_the_device_keeps_working_after_the_claim_and_its_refreshed_token_names_the_owner(
    api, owner
):
    registered = register(api).json()
    token = device_token(api, registered["prn"], registered["secret"])
    claims = jwt.decode(token, settings.SECRET_KEY, algorithms=["HS256"])
    assert claims["owner"] == ""

    assert claim(api.as_(owner), registered["id"], registered["challenge"]).status_code == 200

    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = api.get(f"/devices/{registered['id']}")
    assert response.status_code == 200
    assert response.json()["owner"] == owner.prn
    assert api.get(f"/devices/{registered['id']}/user-meta").status_code == 200
    refreshed = api.get("/auth/login").json()["token"]
    claims = jwt.decode(refreshed, settings.SECRET_KEY, algorithms=["HS256"])
    assert claims["owner"] == owner.prn
    assert claims["prn"] == registered["prn"]


def test_an_unclaimed_device_reads_its_own_challenge(api, unclaimed, owner):
    body = api.as_(unclaimed).get(f"/devices/{unclaimed.id}").json()
    assert body["challenge"] == "maple-river-42"
    # No person sees an unclaimed private device at all.
    assert api.as_(owner).get(f"/devices/{unclaimed.id}").status_code == 404
