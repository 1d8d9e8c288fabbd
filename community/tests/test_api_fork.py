"""Forks over the API: POST /devices/<id>/fork, through the service the Fork button uses."""

from __future__ import annotations

import hashlib

import pytest

from community.models import Fork
from community.tests.conftest import ROOTFS
from devices.models import Device
from revisions.models import Blob, OwnerObject, Step
from revisions.services.steps import post_step
from trail import status as st

pytestmark = pytest.mark.django_db


def fork_url(device) -> str:
    return f"/devices/{device.id}/fork"


def counts() -> tuple[int, int, int, int]:
    """What a refused fork must leave as it was."""
    return (
        Device.objects.count(),
        Step.objects.count(),
        Fork.objects.count(),
        OwnerObject.objects.count(),
    )


def test_it_forks_the_newest_revision_into_a_new_device_without_hardware(
    api, owner, outsider, kiosk
):
    blobs = Blob.objects.count()
    answer = api.as_(outsider).post(fork_url(kiosk), {"nick": "my-kiosk"}, format="json")
    assert answer.status_code == 201, answer.content
    body = answer.json()
    copy = Device.objects.get(owner=outsider, nick="my-kiosk")
    assert (copy.has_hardware, copy.public) == (False, False)
    assert body["device"]["id"] == copy.id and body["device"]["owner-nick"] == "mallory"
    assert body["device"]["user-meta"] == {}  # the caller owns it: all of it is shown
    source = Step.objects.get(trail_id=kiosk.id, rev=1)
    step = Step.objects.get(trail_id=copy.id, rev=0)
    assert body["revision"]["rev"] == 0 and body["revision"]["state"] == source.state
    assert body["revision"]["commit-msg"] == "Fork of alice/kiosk at revision 1"
    assert body["revision"]["progress"]["status"] == st.NEW
    assert body["forked-from"] == {"device": kiosk.id, "owner-nick": "alice", "nick": "kiosk",
                                   "rev": 1}  # fmt: skip
    # Lineage, as the page records it; objects linked, never copied.
    assert step.forked_from == source and step.author == outsider
    fork = Fork.objects.get(device=copy)
    assert (fork.source_device, fork.source_rev, fork.rev, fork.created_device) == (
        kiosk,
        1,
        0,
        True,
    )
    assert Blob.objects.count() == blobs
    sha = hashlib.sha256(ROOTFS).hexdigest()
    assert OwnerObject.objects.get(owner=outsider, sha256=sha).kind == "link"
    listed = api.get(f"/devices/{kiosk.id}/forks").json()["forks"]
    assert [(f["device"]["id"], f["source-rev"]) for f in listed] == [(copy.id, 1)]


def test_it_forks_the_revision_asked_for_by_nick_and_with_a_slash(api, owner, outsider, kiosk):
    answer = api.as_(owner).post("/devices/kiosk/fork/", {"nick": "kiosk-v0", "rev": 0})
    assert answer.status_code == 201, answer.content
    assert answer.json()["forked-from"]["rev"] == 0
    assert answer.json()["revision"]["state"] == Step.objects.get(trail_id=kiosk.id, rev=0).state


def test_an_owner_forks_their_own_private_device(api, owner, make_device, add_step, uploaded_state):
    private = make_device(owner, nick="secret")
    add_step(private, uploaded_state(owner, {"bsp/kernel.img": b"private bytes"}))
    answer = api.as_(owner).post(fork_url(private), {"nick": "secret-copy"})
    assert answer.status_code == 201, answer.content
    assert Device.objects.get(owner=owner, nick="secret-copy").has_hardware is False


def test_it_forks_into_one_of_my_devices_as_its_next_revision(
    api, outsider, kiosk, make_device, add_step, uploaded_state
):
    mine = make_device(outsider, nick="lab")
    add_step(mine, uploaded_state(outsider, {"bsp/kernel.img": b"mine"}))
    answer = api.as_(outsider).post(fork_url(kiosk), {"into": "lab", "rev": 1})
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["device"]["id"] == mine.id and body["revision"]["rev"] == 1
    step = Step.objects.get(trail_id=mine.id, rev=1)
    assert (step.author, step.status, step.forked_from.trail_id) == (outsider, st.NEW, kiosk.id)
    assert Fork.objects.get(device=mine).created_device is False
    assert Device.objects.filter(owner=outsider).count() == 1


def test_anonymous_is_told_where_to_log_in(api, kiosk):
    before = counts()
    answer = api.as_(None).post(fork_url(kiosk), {"nick": "x1"}, format="json")
    assert answer.status_code == 401 and answer.json()["code"]
    assert "ph-aeps=" in answer["WWW-Authenticate"]
    assert counts() == before


def test_a_device_cannot_fork(api, kiosk, make_device, outsider):
    before = counts()
    for caller in (kiosk, make_device(outsider, nick="other")):
        answer = api.as_(caller).post(fork_url(kiosk), {"nick": "x1"})
        assert answer.status_code == 403 and answer.json()["code"] == "person-only"
    assert Device.objects.count() == before[0] + 1  # the caller made above, nothing else


def test_a_private_device_of_someone_else_is_a_404(api, owner, outsider, make_device, add_step):
    secret = make_device(owner, nick="secret")
    add_step(secret)
    before = counts()
    for ref in (secret.id, "f" * 24):
        answer = api.as_(outsider).post(f"/devices/{ref}/fork", {"nick": "x1"})
        assert answer.status_code == 404 and answer.json()["code"]
    assert counts() == before


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({}, 400, "nick-required"),
        ({"nick": ""}, 400, "nick-required"),
        ({"nick": "bad nick!"}, 400, "bad-nick"),
        ({"nick": "x" * 64}, 400, "bad-nick"),
        ({"nick": ["x1"]}, 400, "invalid"),
        ({"nick": "taken"}, 409, "nick-taken"),
        ({"nick": "fresh", "rev": 7}, 400, "no-such-rev"),
        ({"nick": "fresh", "rev": 2**40}, 400, "no-such-rev"),
        ({"nick": "fresh", "rev": -1}, 400, "min_value"),
        ({"nick": "fresh", "rev": "newest"}, 400, "invalid"),
        ({"nick": "fresh", "into": "lab"}, 400, "nick-or-into"),
        ({"into": "theirs"}, 404, "not_found"),  # a nick names one of your own devices
        ({"into": "{theirs}"}, 403, "owner-only"),
        ({"into": "{secret}"}, 404, "not_found"),
        ({"into": "{kiosk}"}, 403, "owner-only"),  # the source itself, not mallory's
        ({"into": "f" * 24}, 404, "not_found"),
    ],
)
def test_it_refuses_bad_forks_and_changes_nothing(
    api, owner, outsider, kiosk, make_device, body, status, code
):
    make_device(outsider, nick="taken")
    make_device(outsider, nick="lab")
    theirs = make_device(owner, nick="theirs", public=True)
    secret = make_device(owner, nick="secret")
    ids = {"{theirs}": theirs.id, "{secret}": secret.id, "{kiosk}": kiosk.id}
    body = {k: ids.get(v, v) if isinstance(v, str) else v for k, v in body.items()}
    before = counts()
    answer = api.as_(outsider).post(fork_url(kiosk), body, format="json")
    assert (answer.status_code, answer.json()["code"]) == (status, code), answer.content
    assert answer.json()["error"]
    assert counts() == before


def test_the_owner_cannot_fork_a_device_into_itself(api, owner, kiosk):
    before = counts()
    answer = api.as_(owner).post(fork_url(kiosk), {"into": kiosk.id})
    assert (answer.status_code, answer.json()["code"]) == (400, "fork-into-itself")
    assert counts() == before


def test_a_device_without_revisions_has_nothing_to_fork(api, outsider, public_device):
    answer = api.as_(outsider).post(fork_url(public_device), {"nick": "empty"})
    assert (answer.status_code, answer.json()["code"]) == (409, "no-revisions")
    assert not Device.objects.filter(owner=outsider).exists()


def test_an_object_that_cannot_be_linked_leaves_nothing_behind(api, owner, outsider, kiosk):
    # Revision 2 names an object alice announced but never uploaded: it cannot be linked.
    state = dict(Step.objects.get(trail_id=kiosk.id, rev=1).state)
    state["app/missing.img"] = "f" * 64
    OwnerObject.objects.create(owner=owner, sha256="f" * 64, size=5, kind="object")
    post_step(kiosk.trail, state, author=owner)
    before = counts()
    answer = api.as_(outsider).post(fork_url(kiosk), {"nick": "fresh"})
    assert (answer.status_code, answer.json()["code"]) == (409, "missing-objects")
    assert counts() == before


def test_a_device_that_requires_signatures_refuses_an_unsigned_fork(
    api, outsider, kiosk, make_device
):
    make_device(outsider, nick="strict", require_signatures=True)
    before = counts()
    answer = api.as_(outsider).post(fork_url(kiosk), {"into": "strict"})
    assert (answer.status_code, answer.json()["code"]) == (422, "unsigned")
    assert counts() == before
