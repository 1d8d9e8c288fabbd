"""Content stored once across owners; links to public content; proof of possession."""

from __future__ import annotations

import pytest

from revisions import services
from revisions.models import Blob, OwnerObject
from revisions.tests.conftest import random_bytes, sha

SPEC = "pantavisor-service-system@1"


def announce(api, subject, data: bytes):
    body = {"objectname": "root.squashfs", "size": str(len(data)), "sha256sum": sha(data)}
    return api.as_(subject).post("/objects/", body, format="json")


def files(objects_dir) -> list:
    return [p for p in objects_dir.rglob("*") if p.is_file() and p.parent.name != "tmp"]


@pytest.fixture
def public_revision(api, make_user, make_device, trail_of, upload):
    """bob's public device has a revision naming ``data``; returns the bytes."""
    bob = make_user("bob")
    data = random_bytes(2000)
    upload(bob, data)
    device = make_device(bob, nick="public-pi", public=True)
    trail = trail_of(device, {"#spec": SPEC})
    services.post_step(trail, {"#spec": SPEC, "app/root.squashfs": sha(data)}, author=bob)
    return data


def test_it_stores_content_once_for_two_uploaders(api, owner, outsider, upload, objects_dir):
    data = random_bytes(3000)
    upload(owner, data)
    second = announce(api, outsider, data)
    assert second.status_code == 200, "a private sha must be uploaded again: proof of possession"
    put = api.generic("PUT", second.json()["signed-puturl"], data, "application/octet-stream")
    assert put.status_code == 200
    assert Blob.objects.count() == 1
    assert len(files(objects_dir)) == 1
    kinds = set(OwnerObject.objects.values_list("owner__username", "kind"))
    assert kinds == {("alice", "object"), ("mallory", "object")}


def test_it_keeps_stored_content_when_a_second_upload_is_wrong(
    api, owner, outsider, upload, objects_dir
):
    data = random_bytes(3000)
    upload(owner, data)
    url = announce(api, outsider, data).json()["signed-puturl"]
    wrong = api.generic("PUT", url, random_bytes(3000), "application/octet-stream")
    assert wrong.status_code == 400
    (stored,) = files(objects_dir)
    assert stored.read_bytes() == data
    assert OwnerObject.objects.get(owner=outsider).kind == "pending"


def test_it_links_content_of_a_public_revision(
    api, owner, device, trail_of, public_revision, objects_dir
):
    answer = announce(api, owner, public_revision)
    assert answer.status_code == 409
    assert answer["Pantahub-Object-Type"] == "link"
    assert OwnerObject.objects.get(owner=owner).kind == "link"
    trail = trail_of(device, {"#spec": SPEC})
    step = services.post_step(trail, {"#spec": SPEC, "x/root.squashfs": sha(public_revision)})
    assert step.rev == 1
    assert Blob.objects.count() == 1 and len(files(objects_dir)) == 1
    again = announce(api, owner, public_revision)
    assert again.status_code == 409 and again["Pantahub-Object-Type"] == "link"


def test_it_makes_private_content_uploaded_again(
    api, owner, make_user, make_device, trail_of, upload
):
    carol = make_user("carol")
    data = random_bytes(500)
    upload(carol, data)
    trail = trail_of(make_device(carol, nick="private-pi"), {"#spec": SPEC})
    services.post_step(trail, {"#spec": SPEC, "a/b.img": sha(data)}, author=carol)
    answer = announce(api, owner, data)
    assert answer.status_code == 200
    assert answer.json()["signed-puturl"]


def test_it_links_public_content_for_a_fork(owner, device, trail_of, public_revision):
    trail = trail_of(device, {"#spec": SPEC})
    state = {"#spec": SPEC, "app/root.squashfs": sha(public_revision)}
    with pytest.raises(Exception) as refused:
        services.post_step(trail, state)
    assert refused.value.code == "missing-objects"
    step = services.post_step(trail, state, link_public=True)
    assert step.rev == 1
    assert OwnerObject.objects.get(owner=owner, sha256=sha(public_revision)).kind == "link"


def test_it_does_not_link_what_is_not_stored(owner, device, trail_of, make_user, make_device):
    bob = make_user("bob")
    public = trail_of(
        make_device(bob, nick="bare", public=True), {"#spec": SPEC, "k.img": "e" * 64}
    )
    assert public.head_rev == 0
    assert services.link_public_objects(owner, ["e" * 64]) == set()
    assert not OwnerObject.objects.filter(owner=owner).exists()


def test_it_refuses_a_size_that_contradicts_stored_content(api, outsider, owner, upload):
    data = random_bytes(100)
    upload(owner, data)
    body = {"objectname": "x", "size": "101", "sha256sum": sha(data)}
    answer = api.as_(outsider).post("/objects/", body, format="json")
    assert answer.status_code == 400
    assert answer.json()["code"] == "size-mismatch"
    assert not OwnerObject.objects.filter(owner=outsider).exists()


def test_it_refuses_to_delete_an_object_a_revision_uses(api, owner, device, trail_of, upload):
    data = random_bytes(100)
    upload(owner, data)
    trail = trail_of(device, {"#spec": SPEC})
    services.post_step(trail, {"#spec": SPEC, "k.img": sha(data)})
    answer = api.as_(owner).delete(f"/objects/{sha(data)}")
    assert answer.status_code == 409
    assert answer.json()["code"] == "object-in-use"
    assert OwnerObject.objects.filter(owner=owner).exists()


def test_another_owners_revision_does_not_keep_my_object_in_use(
    api, owner, outsider, make_device, trail_of, upload
):
    """Only the owner's own revisions make an object "in use" for them. Kills the mutant
    that counts every owner's revisions (tests.md M11)."""
    data = random_bytes(100)
    upload(owner, data)
    upload(outsider, data)
    theirs = trail_of(make_device(outsider), {"#spec": SPEC})
    services.post_step(theirs, {"#spec": SPEC, "k.img": sha(data)})
    answer = api.as_(owner).delete(f"/objects/{sha(data)}")
    assert answer.status_code == 200, answer.content
    assert not OwnerObject.objects.filter(owner=owner).exists()
    assert OwnerObject.objects.filter(owner=outsider, sha256=sha(data)).exists()


def test_it_lets_anyone_read_content_of_a_public_revision(api, outsider, public_revision):
    answer = api.as_(None).get(f"/objects/{sha(public_revision)}")
    assert answer.status_code == 200
    got = api.get(answer.json()["signed-geturl"])
    assert b"".join(got.streaming_content) == public_revision
    assert answer.json()["signed-puturl"] == ""


def test_it_hides_private_content_from_others(api, owner, outsider, upload):
    data = random_bytes(100)
    upload(owner, data)
    assert api.as_(outsider).get(f"/objects/{sha(data)}").status_code == 404
    assert api.as_(None).get(f"/objects/{sha(data)}").status_code == 401  # then pvr logs in
    assert api.as_(owner).get(f"/objects/{sha(data)}").status_code == 200
