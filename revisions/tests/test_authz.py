"""Who may read and change trails, steps and objects: private and public devices."""

from __future__ import annotations

import pytest

from revisions import services
from revisions.models import OwnerObject, Step
from revisions.tests.conftest import random_bytes, sha

SPEC = "pantavisor-service-system@1"
READERS = ["anonymous", "owner", "outsider", "device", "sibling", "strange-device"]


@pytest.fixture
def world(owner, outsider, device, make_device, trail_of, upload):
    """alice's device with a revision naming one object, and everyone else."""
    data = random_bytes(100)
    upload(owner, data)
    trail = trail_of(device, {"#spec": SPEC})
    services.post_step(trail, {"#spec": SPEC, "k.img": sha(data)}, author=owner)
    return {
        "anonymous": None,
        "owner": owner,
        "outsider": outsider,
        "device": device,
        "sibling": make_device(owner, nick="sibling"),
        "strange-device": make_device(outsider, nick="strange"),
        "sha": sha(data),
    }


def read_paths(device, value: str) -> list[str]:
    base = f"/trails/{device.id}"
    return [
        base,
        f"{base}/summary",
        f"{base}/.pvrremote",
        f"{base}/steps",
        f"{base}/steps/1",
        f"{base}/steps/1/state",
        f"{base}/steps/1/meta",
        f"{base}/steps/1/objects",
        f"{base}/steps/1/objects/{value}",
        f"{base}/steps/1/.pvrremote",
        "/exports/alice/kiosk/1/kiosk.tar.gz",
        f"/objects/{value}",
    ]


@pytest.mark.parametrize("who", READERS)
def test_it_shows_a_private_trail_to_its_owner_and_device_only(api, device, world, who):
    """Anonymous callers get a 401 with ph-aeps, as behind the reference's JWT middleware
    (pantahub-base trails/service.go 235-246): pvr logs in only after a 401 (pvr
    libpvr/session.go DoAuthCall). Exports keep their 404."""
    expected = 200 if who in ("owner", "device") else 404
    for path in read_paths(device, world["sha"]):
        answer = api.as_(world[who]).get(path)
        # A device uses its owner's objects, so alice's other device reads them too.
        allowed = expected == 200 or (who == "sibling" and path.startswith("/objects/"))
        refused = 401 if who == "anonymous" and not path.startswith("/exports/") else 404
        assert answer.status_code == (200 if allowed else refused), (path, answer.status_code)
        if answer.status_code == 401:
            assert 'ph-aeps="http://testserver/auth"' in answer["WWW-Authenticate"]


@pytest.mark.parametrize("who", READERS)
def test_it_shows_a_public_trail_to_everyone(api, device, world, who):
    device.public = True
    device.save()
    for path in read_paths(device, world["sha"]):
        answer = api.as_(world[who]).get(path)
        assert answer.status_code == 200, (path, answer.status_code)


WRITES = {
    # name: (method, path suffix, body, those who may)
    # A device posts revisions to its own trail (on-device pvr, auto-follow).
    "post-step": ("post", "/steps", {"state": {"#spec": SPEC}}, ("owner", "device")),
    "put-state": ("put", "/steps/1/state", {"#spec": SPEC}, ("owner",)),
    "put-meta": ("put", "/steps/1/meta", {"a": 1}, ("owner",)),
    "cancel": ("put", "/steps/1/cancel", None, ("owner",)),
    "progress": ("put", "/steps/1/progress", {"status": "QUEUED"}, ("device",)),
}
WRITERS = ["anonymous", "owner", "outsider", "device", "sibling", "strange-device"]


@pytest.mark.parametrize("public", [False, True])
@pytest.mark.parametrize("who", WRITERS)
@pytest.mark.parametrize("write", sorted(WRITES))
def test_it_lets_only_the_right_one_write(api, device, world, public, who, write):
    device.public = public
    device.save()
    method, suffix, body, allowed = WRITES[write]
    answer = getattr(api.as_(world[who]), method)(
        f"/trails/{device.id}{suffix}", body, format="json"
    )
    step = Step.objects.get(trail_id=device.id, rev=1)
    if who in allowed:
        assert answer.status_code == 200, answer.json()
        return
    if who == "anonymous":
        assert answer.status_code == 401
    elif not public and who not in ("owner", "device"):
        assert answer.status_code == 404
    else:
        assert answer.status_code == 403
    assert Step.objects.filter(trail_id=device.id).count() == 2
    assert (step.status, step.meta, step.state) == ("NEW", {}, step.state)


@pytest.mark.parametrize("who", ["outsider", "strange-device", "sibling"])
def test_it_refuses_others_uploads_to_a_public_step(api, device, world, who):
    device.public = True
    device.save()
    body = {"objectname": "k", "size": "100", "sha256sum": world["sha"]}
    answer = api.as_(world[who]).post(f"/trails/{device.id}/steps/1/objects", body, format="json")
    assert answer.status_code == 403
    # Refused before anything was granted: no upload is expected from anyone.
    assert not OwnerObject.objects.filter(
        sha256=world["sha"], kind=OwnerObject.Kind.PENDING
    ).exists()


def test_it_lists_only_ones_own_trails(api, owner, outsider, device, world, make_device, trail_of):
    trail_of(make_device(outsider, nick="theirs", public=True), {"#spec": SPEC})
    assert [t["id"] for t in api.as_(owner).get("/trails/").json()] == [device.id]
    assert [t["deviceid"] for t in api.as_(owner).get("/trails/summary").json()] == [device.id]
    assert api.as_(None).get("/trails/").status_code == 401
