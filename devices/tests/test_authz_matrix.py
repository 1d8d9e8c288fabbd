"""Who may do what, endpoint by endpoint.

The target is alice's device ``kiosk``, private and then public. The callers
are nobody, alice (the owner), mallory (another user), the device itself, and
alice's other device. A refused request changes nothing at all, and nobody but
the owner and the device itself ever changes the target.
"""

import pytest

from devices.models import AutoToken, Device, DeviceLog
from devices.services import create_auto_token

pytestmark = pytest.mark.django_db

ACTORS = ("anonymous", "owner", "other user", "itself", "other device")

# endpoint: (method, path, body, codes for ACTORS on a private target)
ENDPOINTS = {
    "list devices":       ("get", "/devices/", None,                         (401, 200, 200, 200, 200)),
    "register":           ("post", "/devices/", {},                          (200, 200, 200, 403, 403)),
    "read device":        ("get", "/devices/{id}", None,                     (401, 200, 404, 200, 404)),
    "read by nicks":      ("get", "/devices/np/alice/kiosk", None,           (404, 200, 404, 200, 404)),
    "edit device":        ("patch", "/devices/{id}", {"description": "x"},   (401, 200, 404, 403, 404)),
    "claim":              ("put", "/devices/{id}?challenge=maple-river-42", None, (401, 409, 404, 403, 403)),
    "delete device":      ("delete", "/devices/{id}", None,                  (401, 200, 404, 403, 404)),
    "publish":            ("put", "/devices/{id}/public", None,              (401, 200, 404, 403, 404)),
    "unpublish":          ("delete", "/devices/{id}/public", None,           (401, 200, 404, 403, 404)),
    "read user-meta":     ("get", "/devices/{id}/user-meta", None,           (401, 200, 404, 200, 404)),
    "put user-meta":      ("put", "/devices/{id}/user-meta", {"x": 1},       (401, 200, 404, 403, 404)),
    "patch user-meta":    ("patch", "/devices/{id}/user-meta", {"x": 1},     (401, 200, 404, 403, 404)),
    "read device-meta":   ("get", "/devices/{id}/device-meta", None,         (401, 200, 404, 200, 404)),
    "put device-meta":    ("put", "/devices/{id}/device-meta", {"x": 1},     (401, 403, 404, 200, 404)),
    "patch device-meta":  ("patch", "/devices/{id}/device-meta", {"x": 1},   (401, 403, 404, 200, 404)),
    "list tokens":        ("get", "/devices/tokens", None,                   (401, 200, 200, 403, 403)),
    "create token":       ("post", "/devices/tokens", {},                    (401, 200, 200, 403, 403)),
    "read token":         ("get", "/devices/tokens/{token}", None,           (401, 200, 404, 403, 403)),
    "disable token":      ("delete", "/devices/tokens/{token}", None,        (401, 200, 404, 403, 403)),
    "post logs":          ("post", "/logs/", {"msg": "x"},                   (401, 403, 403, 200, 200)),
    "read logs":          ("get", "/logs/?dev={id}", None,                   (401, 200, 404, 403, 403)),
}  # fmt: skip

# Where a public target differs: outsiders see it, and are refused (403) what they may not do.
PUBLIC = {
    "read device":       (200, 200, 200, 200, 200),
    "read by nicks":     (200, 200, 200, 200, 200),
    "edit device":       (401, 200, 403, 403, 403),
    "claim":             (401, 409, 409, 403, 403),
    "delete device":     (401, 200, 403, 403, 403),
    "publish":           (401, 200, 403, 403, 403),
    "unpublish":         (401, 200, 403, 403, 403),
    "read user-meta":    (401, 200, 403, 200, 403),
    "put user-meta":     (401, 200, 403, 403, 403),
    "patch user-meta":   (401, 200, 403, 403, 403),
    "read device-meta":  (401, 200, 403, 200, 403),
    "put device-meta":   (401, 403, 403, 200, 403),
    "patch device-meta": (401, 403, 403, 200, 403),
    "read logs":         (401, 200, 403, 403, 403),
}  # fmt: skip


def state(target: Device | None = None) -> dict:
    """Everything stored that a request could change (presence aside), or only the target's."""
    devices = Device.objects.order_by("id")
    tokens = AutoToken.objects.order_by("id")
    if target is not None:
        devices = devices.filter(id=target.id)
        tokens = tokens.filter(owner_id=target.owner_id)
    return {
        "devices": [{**d, "last_seen": None} for d in devices.values()],
        "tokens": list(tokens.values()),
        "logs": list(
            DeviceLog.objects.filter(device_id__in=devices.values("id")).values_list("id", "msg")
        ),
    }


@pytest.fixture
def world(owner, outsider, make_device):
    target = make_device(owner, nick="kiosk", user_meta={"k": 1}, device_meta={"d": 1})
    return {
        "target": target,
        "token": create_auto_token(owner, "alice's")[0],
        "actors": {
            "anonymous": None,
            "owner": owner,
            "other user": outsider,
            "itself": target,
            "other device": make_device(owner, nick="sibling"),
        },
    }


@pytest.mark.parametrize("visibility", ["private", "public"])
@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_it_allows_only_the_right_callers(api, world, endpoint, actor, visibility):
    target = world["target"]
    if visibility == "public":
        Device.objects.filter(id=target.id).update(public=True)
    method, path, body, codes = ENDPOINTS[endpoint]
    if visibility == "public":
        codes = PUBLIC.get(endpoint, codes)
    expected = codes[ACTORS.index(actor)]
    path = path.format(id=target.id, token=world["token"].id)
    before_all, before_target = state(), state(target)

    api.as_(world["actors"][actor])
    response = getattr(api, method)(path, body, format="json")

    assert response.status_code == expected, response.content
    if expected >= 400:
        assert response.json()["error"] and response.json()["code"]
        assert state() == before_all, "a refused request changed something"
    if actor not in ("owner", "itself"):
        assert state(target) == before_target, "an outsider changed the target"


@pytest.mark.parametrize("actor", ACTORS)
def test_lists_show_the_target_only_to_those_who_may_see_it(api, world, actor):
    api.as_(world["actors"][actor])
    listed = api.get("/devices/?owner-nick=alice").json()
    ids = {d["id"] for d in listed}
    assert (world["target"].id in ids) == (actor in ("owner", "itself"))


def test_token_lists_show_only_the_callers_tokens(api, world, outsider):
    assert [t["id"] for t in api.as_(outsider).get("/devices/tokens").json()] == []
