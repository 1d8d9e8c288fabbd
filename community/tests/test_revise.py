"""Roll back and fork, through the revisions service's step posting."""

import hashlib

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from community.models import Fork
from community.tests.conftest import ROOTFS
from devices.models import Device
from live import events
from revisions.models import Blob, OwnerObject, Step
from revisions.services.steps import post_step
from trail import status as st

pytestmark = pytest.mark.django_db


def test_it_rolls_back_by_posting_the_old_state_as_a_new_revision(client, owner, kiosk):
    client.force_login(owner)
    response = client.post("/u/alice/kiosk/revisions/0/rollback/")
    assert response.status_code == 302 and response["Location"] == "/u/alice/kiosk/revisions/2/"
    new = Step.objects.get(trail_id=kiosk.id, rev=2)
    old = Step.objects.get(trail_id=kiosk.id, rev=0)
    assert new.state == old.state and new.state_sha == old.state_sha
    assert (new.status, new.author, new.commit_msg) == (st.NEW, owner, "Roll back to revision 0")
    assert (
        "Roll back to this revision" in client.get("/u/alice/kiosk/revisions/0/").content.decode()
    )
    assert (
        "Roll back to this revision"
        not in client.get("/u/alice/kiosk/revisions/2/").content.decode()
    )


def test_only_the_owner_rolls_back(client, outsider, kiosk):
    client.force_login(outsider)
    assert client.post("/u/alice/kiosk/revisions/0/rollback/").status_code == 404
    assert "Roll back" not in client.get("/u/alice/kiosk/revisions/0/").content.decode()
    assert Step.objects.filter(trail_id=kiosk.id).count() == 2


def test_a_new_revision_is_announced_to_watchers_after_commit(
    owner, kiosk, django_capture_on_commit_callbacks
):
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(events.device_group(kiosk.id), channel)
    agent = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(events.agent_group(kiosk.id), agent)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        step = post_step(
            kiosk.trail, Step.objects.get(trail_id=kiosk.id, rev=0).state, author=owner
        )
        assert not callbacks  # nothing is sent before the commit
    message = async_to_sync(layer.receive)(channel)
    assert message["event"]["type"] == "revision" and message["event"]["rev"] == step.rev
    assert async_to_sync(layer.receive)(agent)["event"] == {"type": "revision", "rev": step.rev}


def test_it_forks_into_a_new_device_without_hardware(client, owner, outsider, kiosk):
    blobs = Blob.objects.count()
    client.force_login(outsider)
    page = client.get("/u/alice/kiosk/revisions/1/fork/")
    assert page.status_code == 200
    response = client.post(
        "/u/alice/kiosk/revisions/1/fork/", {"target": "new", "nick": "my-kiosk"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/u/mallory/my-kiosk/revisions/0/"
    copy = Device.objects.get(owner=outsider, nick="my-kiosk")
    assert copy.has_hardware is False and copy.public is False
    step = Step.objects.get(trail_id=copy.id, rev=0)
    source = Step.objects.get(trail_id=kiosk.id, rev=1)
    assert step.state == source.state and step.forked_from == source
    # Linked, never copied: the same stored bytes, a link row for the new owner.
    assert Blob.objects.count() == blobs
    sha = hashlib.sha256(ROOTFS).hexdigest()
    assert OwnerObject.objects.get(owner=outsider, sha256=sha).kind == "link"
    fork = Fork.objects.get(device=copy)
    assert (fork.source_device, fork.source_rev, fork.rev, fork.created_device) == (
        kiosk,
        1,
        0,
        True,
    )
    body = client.get("/u/mallory/my-kiosk/").content.decode()
    assert "forked from" in body and 'href="/u/alice/kiosk/revisions/1/"' in body
    assert client.get("/u/alice/kiosk/").context["device"].fork_count == 1


def test_it_forks_into_one_of_my_devices_as_its_next_revision(
    client, outsider, kiosk, make_device, add_step, uploaded_state
):
    mine = make_device(outsider, nick="lab")
    add_step(mine, uploaded_state(outsider, {"bsp/kernel.img": b"mine"}))
    client.force_login(outsider)
    response = client.post("/u/alice/kiosk/revisions/1/fork/", {"target": mine.id})
    assert response["Location"] == "/u/mallory/lab/revisions/1/"
    step = Step.objects.get(trail_id=mine.id, rev=1)
    assert step.commit_msg == "Fork of alice/kiosk at revision 1"
    assert step.author == outsider and step.status == st.NEW
    assert Fork.objects.get(device=mine).created_device is False
    body = client.get("/u/mallory/lab/revisions/").content.decode()
    assert "forked from" in body


def test_it_cannot_fork_into_someone_elses_device(client, owner, outsider, kiosk, make_device):
    theirs = make_device(owner, nick="other")
    client.force_login(outsider)
    response = client.post("/u/alice/kiosk/revisions/1/fork/", {"target": theirs.id})
    assert response.status_code == 400
    assert not Step.objects.filter(trail_id=theirs.id).exists()


def test_it_cannot_fork_a_private_device_of_someone_else(
    client, outsider, owner, make_device, add_step
):
    secret = make_device(owner, nick="secret")
    add_step(secret)
    client.force_login(outsider)
    assert client.get("/u/alice/secret/revisions/0/fork/").status_code == 404
    response = client.post("/u/alice/secret/revisions/0/fork/", {"target": "new", "nick": "x"})
    assert response.status_code == 404
    assert not Device.objects.filter(owner=outsider).exists()


def test_a_failed_fork_leaves_nothing_behind(client, owner, outsider, kiosk, make_device):
    # Revision 2 names an object alice announced but never uploaded: it cannot be linked.
    state = dict(Step.objects.get(trail_id=kiosk.id, rev=1).state)
    state["app/missing.img"] = "f" * 64
    OwnerObject.objects.create(owner=owner, sha256="f" * 64, size=5, kind="object")
    post_step(kiosk.trail, state, author=owner)
    make_device(outsider, nick="taken")
    client.force_login(outsider)
    response = client.post("/u/alice/kiosk/revisions/2/fork/", {"target": "new", "nick": "fresh"})
    assert response.status_code == 400
    assert "not uploaded" in response.content.decode()
    response = client.post("/u/alice/kiosk/revisions/1/fork/", {"target": "new", "nick": "taken"})
    assert response.status_code == 400
    assert "already have a device called" in response.content.decode()
    assert list(Device.objects.filter(owner=outsider).values_list("nick", flat=True)) == ["taken"]
    assert not Fork.objects.exists()


def test_forking_needs_a_login(client, kiosk):
    devices, steps, forks = Device.objects.count(), Step.objects.count(), Fork.objects.count()
    response = client.post("/u/alice/kiosk/revisions/1/fork/", {"target": "new", "nick": "x"})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    # Nothing was made on the anonymous post.
    assert (Device.objects.count(), Step.objects.count(), Fork.objects.count()) == (
        devices,
        steps,
        forks,
    )


def test_the_revision_view_links_objects_to_signed_downloads(client, kiosk, owner):
    response = client.get("/u/alice/kiosk/revisions/1/")
    sha = hashlib.sha256(ROOTFS).hexdigest()
    link = "/u/alice/kiosk/revisions/1/download/app/root.squashfs"
    assert link in response.content.decode()
    assert "/u/alice/kiosk/revisions/1/files/app/root.squashfs" in response.content.decode()
    [row] = [r for r in response.context["rows"] if r.value == sha]
    assert row.extra == {"size": len(ROOTFS), "stored": True}
    redirect = client.get(link)
    assert redirect.status_code == 302
    download = client.get(redirect["Location"])
    assert download.status_code == 200
    assert download["Content-Disposition"] == 'attachment; filename="root.squashfs"'
    assert (
        b"".join(download.streaming_content if download.streaming else [download.content]) == ROOTFS
    )


def test_object_downloads_follow_visibility(client, kiosk, outsider):
    assert (
        client.get("/u/alice/kiosk/revisions/0/download/app/root.squashfs").status_code == 404
    )  # not in rev 0
    kiosk.public = False
    kiosk.save()
    client.force_login(outsider)
    assert client.get("/u/alice/kiosk/revisions/1/download/app/root.squashfs").status_code == 404
