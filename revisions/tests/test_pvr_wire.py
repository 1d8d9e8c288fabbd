"""What the real pvr does against trails: clone, post, fastcopy, as its source has it.

Each test replays the requests of pantacor/pvr (libpvr/session.go,
libpvr/authlib.go, libpvr/repolib.go) and checks the answers the reference
server (pantacor/pantahub-base trails/) would give where pvr depends on them.
"""

from __future__ import annotations

import re

import pytest

from conftest import PASSWORD
from revisions import services
from revisions.models import OwnerObject, Step
from revisions.tests.conftest import random_bytes, sha
from trail.wire import ANON_PRN

SPEC = "pantavisor-service-system@1"


def aeps(answer) -> str:
    """The login endpoint a 401 names, read as pvr reads it (repolib.go getWwwAuthenticateInfo)."""
    header = answer["WWW-Authenticate"]
    assert header.startswith("JWT ")
    options = dict(part.split("=", 1) for part in header[4:].split(", "))
    return options["ph-aeps"].strip('"')


def login(api, endpoint: str, username: str, password: str) -> str:
    answer = api.as_(None).post(
        f"{endpoint}/login", {"username": username, "password": password}, format="json"
    )
    assert answer.status_code == 200, answer.json()
    return answer.json()["token"]


def with_token(api, token: str):
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return api


@pytest.fixture
def kernel(owner, upload):
    data = random_bytes(200)
    upload(owner, data, "kernel.img")
    return data


@pytest.fixture
def trail(owner, device, trail_of, kernel):
    trail = trail_of(device, {"#spec": SPEC})
    services.post_step(trail, {"#spec": SPEC, "kernel.img": sha(kernel)}, author=owner)
    return trail


def test_pvr_clones_a_private_device_once_logged_in(api, owner, device, trail, kernel):
    """pvr clone: its first GET carries no token (pvr main.go 107, PVR_AUTH "");
    after a 401 it logs in anonymously at ph-aeps, and when that token is not
    enough (an ``error`` in the header) it asks for credentials and tries again
    (libpvr/session.go DoAuthCall 95-160, libpvr/authlib.go getNewAccessToken
    257-335). Then it reads json-get-url and GETs ``<objects-endpoint>/<sha>``
    for each object's signed-geturl (libpvr/repolib.go 2233-2257)."""
    remote_url = f"http://testserver/trails/{device.id}/.pvrremote"
    first = api.as_(None).get(remote_url)
    assert first.status_code == 401
    endpoint = aeps(first)
    assert endpoint == "http://testserver/auth"

    anon = login(api, endpoint, ANON_PRN, ANON_PRN)
    second = with_token(api, anon).get(remote_url)
    assert second.status_code == 401
    assert 'error="insufficient_scope"' in second["WWW-Authenticate"]  # now pvr asks the user

    token = login(api, endpoint, "alice", PASSWORD)
    remote = with_token(api, token).get(remote_url)
    assert remote.status_code == 200
    remote = remote.json()
    assert remote["objects-endpoint"] == f"http://testserver/trails/{device.id}/steps/1/objects"

    state = api.get(remote["json-get-url"]).json()
    assert state["kernel.img"] == sha(kernel)
    found = api.get(remote["objects-endpoint"] + "/" + state["kernel.img"])
    assert found.status_code == 200
    assert found.json()["sha256sum"] == sha(kernel)
    download = api.as_(None).get(found.json()["signed-geturl"])
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == kernel


def test_pvr_reads_a_public_device_with_its_anonymous_token(api, device, trail, kernel):
    """pvr's anonymous token reads what anyone may (pvr libpvr/authlib.go 303-306
    logs in as prn:pantahub.com:auth:/anon before asking for credentials)."""
    device.public = True
    device.save()
    token = login(api, "http://testserver/auth", ANON_PRN, ANON_PRN)
    remote = with_token(api, token).get(f"/trails/{device.id}/.pvrremote")
    assert remote.status_code == 200
    found = api.get(remote.json()["objects-endpoint"] + "/" + sha(kernel))
    assert found.status_code == 200 and found.json()["signed-geturl"]


def test_the_anonymous_token_gives_no_rights(api, owner, device, trail, kernel):
    """With the anonymous token, a private device is a 401 again (never its data),
    and nothing can be written (pvr libpvr/authlib.go 303-306)."""
    token = login(api, "http://testserver/auth", ANON_PRN, ANON_PRN)
    with_token(api, token)
    for path in (
        f"/trails/{device.id}",
        f"/trails/{device.id}/steps/1/state",
        f"/trails/{device.id}/steps/1/objects/{sha(kernel)}",
        f"/objects/{sha(kernel)}",
        "/trails/",
        "/devices/",
    ):
        answer = api.get(path)
        assert answer.status_code == 401, path
        assert 'error="insufficient_scope"' in answer["WWW-Authenticate"]
    posted = api.post(f"/trails/{device.id}/steps", {"state": {"#spec": SPEC}}, format="json")
    assert posted.status_code == 401
    assert Step.objects.filter(trail_id=device.id).count() == 2


@pytest.mark.parametrize(
    "path",
    [".pvrremote", "steps/1/.pvrremote", "steps", "steps/1", "steps/1/state", "steps/1/objects"],
)
def test_an_outsider_with_a_token_gets_404(api, outsider, device, trail, path):
    """A logged-in stranger learns nothing about a private device: 404, not 401 or 403
    (no existence leak; pvr reports any other status as a failure, repolib.go 867-870)."""
    answer = api.as_(outsider).get(f"/trails/{device.id}/{path}")
    assert answer.status_code == 404
    assert "WWW-Authenticate" not in answer


def test_anonymous_and_an_absent_device_look_alike(api, device, trail):
    """Anonymous callers get the same 401 for a private device and for none at all."""
    hidden = api.as_(None).get(f"/trails/{device.id}/steps")
    absent = api.as_(None).get("/trails/" + "0" * 24 + "/steps")
    assert hidden.status_code == absent.status_code == 401


def post_object(api, endpoint: str, name: str, data: bytes):
    """pvr postObjects: a POST to ``<objects-endpoint>/`` (repolib.go 1228-1262)."""
    body = {
        "objectname": name,
        "size": str(len(data)),
        "sha256sum": sha(data),
        "mime-type": "application/octet-stream",
    }
    return api.post(endpoint.rstrip("/") + "/", body, format="json")


def test_pvr_posts_a_revision_through_the_objects_endpoint(api, owner, device, trail, kernel):
    """pvr post: .pvrremote, then each object the baseline lacks is announced at the
    objects-endpoint (the step the remote names, whose state does not name it yet),
    uploaded to signed-puturl, and the state posted to post-url with commit-msg and rev
    (pvr libpvr/repolib.go 1228-1300, 1509-1560; pantahub-base
    trails/post-trails-rev-objects.go 52-190: 200 or 409 with Pantahub-Object-Type)."""
    client = api.as_(owner)
    remote = client.get(f"/trails/{device.id}/.pvrremote").json()
    data = random_bytes(300)
    announced = post_object(client, remote["objects-endpoint"], "app.squashfs", data)
    assert announced.status_code == 200, announced.json()
    assert announced.json()["signed-puturl"]
    put = api.generic("PUT", announced.json()["signed-puturl"], data, "application/octet-stream")
    assert put.status_code == 200

    again = post_object(client, remote["objects-endpoint"], "app.squashfs", data)
    assert again.status_code == 409
    assert again["Pantahub-Object-Type"] == "object"
    same_at_objects = post_object(client, "http://testserver/objects", "app.squashfs", data)
    assert same_at_objects.status_code == 409
    assert same_at_objects.json().keys() == again.json().keys()

    state = {"#spec": SPEC, "kernel.img": sha(kernel), "app.squashfs": sha(data)}
    posted = client.post(
        remote["post-url"], {"commit-msg": "pvr post", "rev": 2, "state": state}, format="json"
    )
    assert posted.status_code == 200, posted.json()
    assert posted.json()["rev"] == 2


def test_the_objects_endpoint_links_public_content(api, owner, outsider, make_device, trail_of):
    """pvr prints [LK] for a 409 with Pantahub-Object-Type: link (repolib.go 1298-1310)."""
    data = random_bytes(120)
    theirs = make_device(outsider, nick="theirs", public=True)
    # mallory holds the bytes and publishes a revision naming them
    client = api.as_(outsider)
    announced = client.post(
        "/objects/", {"objectname": "a", "size": "120", "sha256sum": sha(data)}, format="json"
    )
    api.generic("PUT", announced.json()["signed-puturl"], data, "application/octet-stream")
    trail_of(theirs, {"#spec": SPEC, "a.img": sha(data)})
    mine = make_device(owner, nick="mine")
    trail_of(mine, {"#spec": SPEC})
    answer = post_object(api.as_(owner), f"/trails/{mine.id}/steps/0/objects", "a.img", data)
    assert answer.status_code == 409
    assert answer["Pantahub-Object-Type"] == "link"


@pytest.mark.parametrize("who", ["outsider", "sibling"])
def test_the_objects_endpoint_takes_only_the_steps_device_and_owner(
    api, outsider, owner, make_device, device, trail, who
):
    """pantahub-base trails/post-trails-rev-objects.go 90-97: the step's device or owner."""
    device.public = True
    device.save()
    caller = outsider if who == "outsider" else make_device(owner, nick="sibling")
    answer = post_object(
        api.as_(caller), f"/trails/{device.id}/steps/1/objects", "x.img", random_bytes(10)
    )
    assert answer.status_code == 403


def test_a_device_posts_to_its_own_trail(api, device, trail, kernel):
    """On-device pvr and auto-follow scripts post with the device's token; the reference
    takes the owner from the device token's ``owner`` claim (pantahub-base
    trails/post-trail-steps.go 59-69, 108-111)."""
    state = {"#spec": SPEC, "kernel.img": sha(kernel), "x.json": {"a": 1}}
    answer = api.as_(device).post(f"/trails/{device.id}/steps", {"state": state}, format="json")
    assert answer.status_code == 200, answer.json()
    assert answer.json()["rev"] == 2
    assert Step.objects.get(trail_id=device.id, rev=2).author is None


def test_a_device_names_only_objects_its_owner_holds(api, device, trail):
    state = {"#spec": SPEC, "other.img": "c" * 64}
    answer = api.as_(device).post(f"/trails/{device.id}/steps", {"state": state}, format="json")
    assert answer.status_code == 409
    assert answer.json()["missing"] == ["c" * 64]


@pytest.mark.parametrize("public", [False, True])
def test_a_device_never_posts_to_another_devices_trail(
    api, owner, device, trail, make_device, trail_of, public
):
    sibling = make_device(owner, nick="sibling", public=public)
    trail_of(sibling, {"#spec": SPEC})
    answer = api.as_(device).post(
        f"/trails/{sibling.id}/steps", {"state": {"#spec": SPEC}}, format="json"
    )
    assert answer.status_code == (403 if public else 404)
    assert Step.objects.filter(trail_id=sibling.id).count() == 1


@pytest.fixture
def public_content(api, outsider, make_device, trail_of):
    """mallory's public device, whose revision names bytes she uploaded."""
    data = random_bytes(150)
    client = api.as_(outsider)
    announced = client.post(
        "/objects/", {"objectname": "b", "size": "150", "sha256sum": sha(data)}, format="json"
    )
    api.generic("PUT", announced.json()["signed-puturl"], data, "application/octet-stream")
    trail_of(
        make_device(outsider, nick="upstream", public=True), {"#spec": SPEC, "b.img": sha(data)}
    )
    return sha(data)


def test_posting_a_state_links_public_objects(api, owner, device, trail, kernel, public_content):
    """pvr fastcopy: a state naming a public revision's objects is accepted, the objects
    linked to the poster (pantahub-base trails/post-trail-steps.go 192-204, autolink
    on unless ``?autolink=no``)."""
    state = {"#spec": SPEC, "kernel.img": sha(kernel), "b.img": public_content}
    answer = api.as_(owner).post(f"/trails/{device.id}/steps", {"state": state}, format="json")
    assert answer.status_code == 200, answer.json()
    assert OwnerObject.objects.get(owner=owner, sha256=public_content).kind == "link"


def test_autolink_no_leaves_public_objects_missing(
    api, owner, device, trail, kernel, public_content
):
    """``?autolink=no`` (pantahub-base trails/post-trail-steps.go 193-196): the usual 409."""
    state = {"#spec": SPEC, "kernel.img": sha(kernel), "b.img": public_content}
    answer = api.as_(owner).post(
        f"/trails/{device.id}/steps?autolink=no", {"state": state}, format="json"
    )
    assert answer.status_code == 409
    assert answer.json()["missing"] == [public_content]
    assert not OwnerObject.objects.filter(owner=owner, sha256=public_content).exists()


def test_autolink_never_links_what_a_public_state_only_names(
    api, owner, outsider, make_user, device, trail, kernel, make_device, trail_of, upload
):
    """A public revision whose owner never held the bytes shares nothing: a factory
    state may name any sha (another user's private upload here)."""
    victim = make_user("victor")
    secret = random_bytes(90)
    upload(victim, secret, "private.img")
    trail_of(make_device(outsider, nick="bait", public=True), {"#spec": SPEC, "s.img": sha(secret)})
    state = {"#spec": SPEC, "kernel.img": sha(kernel), "s.img": sha(secret)}
    answer = api.as_(owner).post(f"/trails/{device.id}/steps", {"state": state}, format="json")
    assert answer.status_code == 409
    assert answer.json()["missing"] == [sha(secret)]
    assert not OwnerObject.objects.filter(owner=owner, sha256=sha(secret)).exists()
    announced = api.as_(owner).post(
        "/objects/", {"objectname": "s", "size": "90", "sha256sum": sha(secret)}, format="json"
    )
    assert announced.status_code == 200  # an upload is asked for: proof of possession
    assert re.search(r"\S", announced.json()["signed-puturl"])
