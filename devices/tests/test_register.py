import re

import pytest

from devices.models import Device, DeviceLog
from devices.services import create_auto_token
from devices.tests.conftest import device_token, register

pytestmark = pytest.mark.django_db

CHALLENGE_RE = re.compile(r"^[a-z]+-[a-z]+-\d\d$")
GENERATED_NICK_RE = re.compile(r"^[a-z]+-[a-z]+$")


def test_it_registers_an_anonymous_device_with_a_challenge_and_a_secret(api):
    response = register(api)
    assert response.status_code == 200
    body = response.json()
    device = Device.objects.get(id=body["id"])
    assert body["prn"] == f"prn:::devices:/{device.id}"
    assert body["owner"] == "" and body["owner-nick"] == ""
    assert device.owner is None
    assert CHALLENGE_RE.match(body["challenge"]) and body["challenge"] == device.challenge
    assert GENERATED_NICK_RE.match(body["nick"]) and body["nick"] == device.nick
    # The secret is stored hashed and only the registration answer shows it.
    assert body["secret"] and body["secret"] not in device.secret_hash
    assert device.check_secret(body["secret"])
    assert body["online"] is False and body["last-seen"] is None
    assert {"user-meta", "device-meta", "time-created", "time-modified"} <= body.keys()


@pytest.mark.parametrize("path", ["/devices", "/devices/"])
def test_it_answers_with_and_without_trailing_slash(api, path):
    response = api.post(path, {}, format="json")
    assert response.status_code == 200
    assert Device.objects.filter(id=response.json()["id"]).exists()


def test_it_keeps_the_secret_the_device_sends(api):
    body = register(api, {"secret": "pantavisor-made-this", "nick": "rpi4"}).json()
    assert body["secret"] == "pantavisor-made-this"
    assert body["nick"] == "rpi4"
    assert device_token(api, body["prn"], "pantavisor-made-this")


def test_it_registers_a_device_owned_by_the_calling_user(api, owner):
    body = register(api.as_(owner), {"nick": "kiosk", "user-meta": {"site": "lab"}}).json()
    device = Device.objects.get(id=body["id"])
    assert device.owner == owner and device.challenge == ""
    assert body["owner"] == owner.prn and body["owner-nick"] == "alice"
    assert "challenge" not in body
    assert body["user-meta"] == {"site": "lab"}
    assert device.check_secret(body["secret"])


def test_it_refuses_a_nick_the_owner_already_uses(api, owner, device, outsider):
    response = register(api.as_(owner), {"nick": "kiosk"})
    assert response.status_code == 409
    assert response.json()["code"] == "nick-taken"
    assert Device.objects.filter(owner=owner).count() == 1
    # Nicks are unique per owner only.
    assert register(api.as_(outsider), {"nick": "kiosk"}).status_code == 200


def test_it_generates_distinct_readable_nicks_per_owner(api, owner):
    nicks = {register(api.as_(owner)).json()["nick"] for _ in range(5)}
    assert len(nicks) == 5
    assert all(GENERATED_NICK_RE.match(nick) for nick in nicks)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"nick": "-bad"}, 400, "invalid"),
        ({"nick": "a b"}, 400, "invalid"),
        ({"user-meta": ["not", "an", "object"]}, 400, "not-an-object"),
        ({"user-meta": {"k": "x" * 70_000}}, 413, "too-large"),
        ({"secret": ""}, 400, "blank"),
    ],
)
def test_it_refuses_bad_registrations_and_creates_nothing(api, body, status, code):
    response = register(api, body)
    assert response.status_code == status
    assert response.json()["code"] == code
    assert response.json()["error"]
    assert not Device.objects.exists()


def test_a_device_cannot_register_other_devices(api, device):
    response = register(api.as_(device))
    assert response.status_code == 403
    assert Device.objects.count() == 1


def test_the_secret_never_appears_in_list_or_detail_answers(api, owner):
    secret = register(api.as_(owner), {"nick": "kiosk"}).json()["secret"]
    device = Device.objects.get()
    for path in ("/devices/", f"/devices/{device.id}", "/devices/np/alice/kiosk"):
        response = api.get(path)
        assert response.status_code == 200
        assert secret not in response.content.decode()
        assert "secret" not in response.content.decode()


def test_it_lists_the_callers_own_devices(api, owner, outsider, make_device):
    mine = [make_device(owner, nick="b-kiosk"), make_device(owner, nick="a-kiosk")]
    make_device(outsider, nick="theirs", public=True)
    body = api.as_(owner).get("/devices/").json()
    assert [d["nick"] for d in body] == ["a-kiosk", "b-kiosk"]
    assert {d["id"] for d in body} == {d.id for d in mine}


def test_it_lists_another_users_public_devices_by_owner_nick(api, owner, outsider, make_device):
    make_device(owner, nick="shown", public=True)
    make_device(owner, nick="hidden")
    for caller in (None, outsider):
        body = api.as_(caller).get("/devices/?owner-nick=alice").json()
        assert [d["nick"] for d in body] == ["shown"]
        assert "user-meta" not in body[0]
    own = api.as_(owner).get("/devices/?owner-nick=alice").json()
    assert sorted(d["nick"] for d in own) == ["hidden", "shown"]


def test_a_device_lists_only_itself(api, device, sibling):
    body = api.as_(device).get("/devices/").json()
    assert [d["id"] for d in body] == [device.id]


def test_listing_needs_a_login_without_owner_nick(api):
    response = api.get("/devices/")
    assert response.status_code == 401
    assert "ph-aeps" in response["WWW-Authenticate"]


def test_listing_devices_takes_two_queries_however_many_there_are(
    api, owner, make_device, django_assert_num_queries
):
    for n in range(5):
        make_device(owner, nick=f"kiosk-{n}")
    api.as_(owner)
    # The account behind the token, then the devices with their owner.
    with django_assert_num_queries(2):
        assert len(api.get("/devices/").json()) == 5


def test_it_finds_a_device_by_id_prn_or_own_nick(api, owner, device):
    api.as_(owner)
    for ref in (device.id, device.nick):
        assert api.get(f"/devices/{ref}").json()["id"] == device.id
    assert api.get("/devices/np/alice/kiosk").json()["id"] == device.id


def test_it_renames_and_describes_a_device(api, owner, device):
    response = api.as_(owner).patch(
        f"/devices/{device.id}", {"nick": "lobby", "description": "by the door"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["nick"] == "lobby"
    device.refresh_from_db()
    assert (device.nick, device.description) == ("lobby", "by the door")


def test_renaming_to_a_taken_nick_is_a_conflict_and_changes_nothing(api, owner, device, sibling):
    response = api.as_(owner).patch(
        f"/devices/{device.id}", {"nick": "sibling", "description": "x"}, format="json"
    )
    assert response.status_code == 409
    device.refresh_from_db()
    assert (device.nick, device.description) == ("kiosk", "")


def test_it_publishes_and_hides_a_device(api, owner, outsider, device):
    assert api.as_(owner).put(f"/devices/{device.id}/public").json()["public"] is True
    assert api.as_(outsider).get(f"/devices/{device.id}").status_code == 200
    assert api.as_(owner).delete(f"/devices/{device.id}/public").json()["public"] is False
    assert api.as_(outsider).get(f"/devices/{device.id}").status_code == 404


def test_deleting_a_device_removes_it_and_its_logs(api, owner, device):
    DeviceLog.objects.create(device=device, time=device.time_created, tsec=1, msg="x")
    response = api.as_(owner).delete(f"/devices/{device.id}")
    assert response.status_code == 200
    assert response.json()["id"] == device.id
    assert not Device.objects.filter(id=device.id).exists()
    assert not DeviceLog.objects.exists()


def test_a_device_cannot_delete_itself(api, device):
    response = api.as_(device).delete(f"/devices/{device.id}")
    assert response.status_code == 403
    assert Device.objects.filter(id=device.id).exists()


# --- Device login (portal/api/views.py accepts username=<prn>) ---------------


def test_a_device_logs_in_with_its_prn_and_secret(api, device):
    token = device_token(api, device.prn, device.secret)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    claims = api.get("/auth/auth_status").json()
    assert claims["type"] == "DEVICE" and claims["prn"] == device.prn
    assert claims["owner"] == device.owner.prn
    assert api.get(f"/devices/{device.id}").status_code == 200


@pytest.mark.parametrize(
    "username",
    ["prn:::devices:/{id}", "prn:::devices:/nothex", "prn:::devices:/0123456789abcdef01234567"],
)
def test_a_device_login_with_wrong_credentials_is_refused(api, device, username):
    response = api.post(
        "/auth/login",
        {"username": username.format(id=device.id), "password": "not-the-secret"},
        format="json",
    )
    assert response.status_code == 401
    assert response.json()["code"] == "bad-credentials"


def test_anonymous_registrations_are_limited_per_address_and_the_refused_store_nothing(
    api, owner, settings
):
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "device-register": "2/hour"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    assert [register(api).status_code for _ in range(2)] == [200, 200]
    refused = register(api)
    assert refused.status_code == 429 and refused.json()["code"] == "throttled"
    assert int(refused["Retry-After"]) > 0
    assert Device.objects.count() == 2
    # A factory token or a person registering is not counted.
    _, raw = create_auto_token(owner)
    assert register(api, **{"HTTP_PANTAHUB_DEVICES_AUTO_TOKEN_V1": raw}).status_code == 200
    assert register(api.as_(owner)).status_code == 200
    assert Device.objects.count() == 4
