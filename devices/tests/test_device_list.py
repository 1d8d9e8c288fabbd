"""``GET /devices/``: the caller's devices, filtered as pvr asks."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def fleet(owner, outsider, make_device):
    for nick in ("kiosk", "Kitchen", "garage", "k.osk"):
        make_device(owner, nick=nick)
    make_device(outsider, nick="kiosk-of-mallory", public=True)


def nicks(answer) -> list[str]:
    assert answer.status_code == 200, answer.json()
    return sorted(d["nick"] for d in answer.json())


def test_it_filters_by_a_nick_prefix_as_pvr_sends_it(api, owner, fleet):
    """pvr's nick suggestions: GET /devices/?nick=^<term> (pvr libpvr/util.go GetDevices
    636-649); the reference reads ``^term`` as a case-insensitive prefix
    (pantahub-base devices/get-devices.go 136-149)."""
    assert nicks(api.as_(owner).get("/devices/?nick=^ki")) == ["Kitchen", "kiosk"]


def test_it_filters_by_an_exact_nick(api, owner, fleet):
    assert nicks(api.as_(owner).get("/devices/?nick=kiosk")) == ["kiosk"]
    assert nicks(api.as_(owner).get("/devices/?nick=kio")) == []


def test_it_takes_the_prefix_as_plain_text_never_a_regex(api, owner, fleet):
    assert nicks(api.as_(owner).get("/devices/?nick=^k.o")) == ["k.osk"]
    assert nicks(api.as_(owner).get("/devices/?nick=^.*")) == []
    assert nicks(api.as_(owner).get("/devices/?nick=^(a+)+$")) == []


def test_it_filters_another_users_public_devices_by_owner_nick_too(api, owner, fleet):
    """pvr adds &owner-nick=<user> when the term names one (libpvr/util.go 644-648)."""
    answer = api.as_(owner).get("/devices/?nick=^kio&owner-nick=mallory")
    assert nicks(answer) == ["kiosk-of-mallory"]


def test_it_still_wants_a_login_for_ones_own_devices(api, fleet):
    assert api.as_(None).get("/devices/?nick=^ki").status_code == 401
