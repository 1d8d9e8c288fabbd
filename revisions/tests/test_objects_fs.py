"""Objects on the filesystem store: announce, upload through signed URLs, download, delete.

The signed URLs are this hub's ``/local-s3/<token>``; test_local_s3.py replays
what Pantavisor and pvr do with them.
"""

from __future__ import annotations

import io
import time

import pytest

from revisions import services
from revisions.models import Blob, OwnerObject
from revisions.storage import UploadRejected, signing
from revisions.storage.base import spool_verified
from revisions.tests.conftest import random_bytes, sha


def announce(api, subject, data: bytes, **extra):
    body = {"objectname": "kernel.img", "size": str(len(data)), "sha256sum": sha(data), **extra}
    return api.as_(subject).post("/objects/", body, format="json")


def put(api, url: str, data: bytes):
    return api.generic("PUT", url, data, "application/octet-stream")


#: The fields of an upload token: put.<sha>.<exp>.<grant>.<size>.<signature>
FIELDS = {"op": 0, "sha": 1, "exp": 2, "grant": 3, "size": 4, "sig": 5}


def change_token(url: str, **changes) -> str:
    """``url`` with fields of its token replaced (the signature left as it was)."""
    base, token = url.split("/local-s3/")
    fields = token.split(".")
    for name, value in changes.items():
        fields[FIELDS[name]] = value
    return f"{base}/local-s3/{'.'.join(fields)}"


def nothing_left(objects_dir, data: bytes) -> bool:
    tmp = objects_dir / "tmp"
    leftovers = list(tmp.iterdir()) if tmp.exists() else []
    return (
        not Blob.objects.filter(sha256=sha(data)).exists()
        and not (objects_dir / sha(data)[:2] / sha(data)).exists()
        and not leftovers
    )


def test_it_grants_an_upload_with_signed_urls(api, owner):
    data = random_bytes(100)
    answer = announce(api, owner, data)
    assert answer.status_code == 200
    body = answer.json()
    assert body["sha256sum"] == body["id"] == body["storage-id"] == sha(data)
    assert body["size"] == "100" and body["sizeint"] == 100
    assert body["owner"] == owner.prn
    assert body["objectname"] == "kernel.img"
    assert body["signed-puturl"].startswith(f"http://testserver/local-s3/put.{sha(data)}.")
    assert body["now"] < body["expire-time"]
    assert OwnerObject.objects.get(owner=owner).kind == "pending"


def test_it_stores_an_exact_upload_and_answers_409_after(api, owner, objects_dir):
    data = random_bytes(5000)
    url = announce(api, owner, data).json()["signed-puturl"]
    answer = put(api, url, data)
    assert answer.status_code == 200, answer.json()
    assert (objects_dir / sha(data)[:2] / sha(data)).read_bytes() == data
    assert Blob.objects.get(sha256=sha(data)).size == 5000
    again = announce(api, owner, data)
    assert again.status_code == 409
    assert again["Pantahub-Object-Type"] == "object"
    assert "/local-s3/put." in again.json()["signed-puturl"], "for pvr --force"


def test_it_serves_the_bytes_at_the_signed_get_url(api, owner, upload):
    data = random_bytes(3000)
    upload(owner, data)
    answer = api.as_(owner).get(f"/objects/{sha(data)}")
    assert answer.status_code == 200
    got = api.as_(None).get(answer.json()["signed-geturl"])
    assert got.status_code == 200
    assert b"".join(got.streaming_content) == data
    blob = api.as_(owner).get(f"/objects/{sha(data)}/blob")
    assert blob.status_code == 302
    assert blob["Location"].startswith(f"http://testserver/local-s3/get.{sha(data)}.")


@pytest.mark.parametrize(
    "sent, status, code", [(b"short", 400, "size-mismatch"), (b"x" * 101, 413, "too-large")]
)
def test_it_refuses_a_wrong_size_upload_and_keeps_nothing(
    api, owner, objects_dir, sent, status, code
):
    data = random_bytes(100)
    url = announce(api, owner, data).json()["signed-puturl"]
    answer = put(api, url, sent)
    assert answer.status_code == status
    assert answer.json()["code"] == code
    assert nothing_left(objects_dir, data)
    assert OwnerObject.objects.get(owner=owner).kind == "pending"


@pytest.mark.parametrize("sent", [b"", b"x" * 99, b"x" * 101, b"x" * 5000])
def test_it_counts_streamed_bytes_without_a_content_length(owner, objects_dir, sent):
    data = b"y" * 100
    obj = services.request_upload(owner, sha(data), 100)
    with pytest.raises(UploadRejected) as refused:
        services.receive_upload(obj.id, sha(data), 100, io.BytesIO(sent), None)
    assert refused.value.code == "size-mismatch"
    assert nothing_left(objects_dir, data)


def test_it_refuses_an_upload_with_the_wrong_sha(api, owner, objects_dir):
    data = random_bytes(100)
    url = announce(api, owner, data).json()["signed-puturl"]
    answer = put(api, url, random_bytes(100))
    assert answer.status_code == 400
    assert answer.json()["code"] == "sha-mismatch"
    assert nothing_left(objects_dir, data)


@pytest.mark.parametrize(
    "change",
    [
        {"size": "99"},
        {"exp": "9999999999"},
        {"op": "get"},
        {"grant": "000000000000000000000000"},
        {"sig": "A" * 43},
    ],
)
def test_it_refuses_an_altered_upload_url(api, owner, objects_dir, change):
    data = random_bytes(100)
    url = announce(api, owner, data).json()["signed-puturl"]
    answer = put(api, change_token(url, **change), data)
    assert answer.status_code == 403
    assert answer.json()["code"] == "bad-signature"
    assert nothing_left(objects_dir, data)


def test_it_refuses_an_upload_url_for_another_sha(api, owner, objects_dir):
    data, other = random_bytes(100), random_bytes(100)
    url = announce(api, owner, data).json()["signed-puturl"]
    answer = put(api, url.replace(sha(data), sha(other)), other)
    assert answer.status_code == 403
    assert nothing_left(objects_dir, other)


def test_it_refuses_an_expired_url(api, owner, objects_dir):
    data = random_bytes(100)
    grant = services.request_upload(owner, sha(data), 100).id
    past = int(time.time()) - 1
    answer = put(api, f"/local-s3/{signing.sign('put', sha(data), past, grant, 100)}", data)
    assert answer.status_code == 403
    assert answer.json()["code"] == "expired"
    assert nothing_left(objects_dir, data)


def test_it_refuses_a_download_url_for_an_upload(api, owner, upload):
    data = random_bytes(100)
    upload(owner, data)
    geturl = api.as_(owner).get(f"/objects/{sha(data)}").json()["signed-geturl"]
    assert geturl
    answer = put(api, geturl, data)
    assert answer.status_code == 403


def test_it_refuses_an_upload_url_after_a_new_announcement(api, owner, objects_dir):
    data = random_bytes(100)
    old = announce(api, owner, data, size="1").json()["signed-puturl"]
    announce(api, owner, data)  # the right size now
    assert put(api, old, data[:1]).status_code == 404  # signed for 1 byte, the grant is 100
    assert nothing_left(objects_dir, data)


@pytest.mark.parametrize(
    "body, field",
    [
        ({"sha256sum": "A" * 64, "size": "1"}, "sha256sum"),
        ({"sha256sum": "a" * 63, "size": "1"}, "sha256sum"),
        ({"sha256sum": "g" * 64, "size": "1"}, "sha256sum"),
        ({"sha256sum": "a" * 64, "size": "-1"}, "size"),
        ({"sha256sum": "a" * 64, "size": "ten"}, "size"),
        ({"sha256sum": "a" * 64}, "size"),
        ({"sha256sum": "a" * 64, "size": "1", "objectname": "a\nb"}, "objectname"),
        ({"sha256sum": "a" * 64, "size": "1", "objectname": "a\x7fb"}, "objectname"),
        ({"sha256sum": "a" * 64, "size": "1", "objectname": "k" * 256}, "objectname"),
    ],
)
def test_it_refuses_bad_announcements(api, owner, body, field):
    answer = api.as_(owner).post("/objects/", body, format="json")
    assert answer.status_code == 400
    assert field in answer.json()["fields"]
    assert not OwnerObject.objects.exists()


def test_it_refuses_nul_in_an_objectname(api, owner):
    body = {"sha256sum": "a" * 64, "size": "1", "objectname": "bsp/a\x00b"}
    answer = api.as_(owner).post("/objects/", body, format="json")
    assert answer.status_code == 400
    assert "objectname" in answer.json()["error"]
    assert not OwnerObject.objects.exists()


def test_it_refuses_objects_over_the_size_limit(api, owner, settings):
    settings.OBJECTS_MAX_BYTES = 1000
    answer = api.as_(owner).post(
        "/objects/", {"sha256sum": "a" * 64, "size": "1001"}, format="json"
    )
    assert answer.status_code == 413
    assert not OwnerObject.objects.exists()


def test_it_stores_a_devices_objects_for_its_owner(api, owner, device, upload):
    data = random_bytes(100)
    upload(device, data)
    listed = api.as_(owner).get("/objects/")
    assert [o["sha256sum"] for o in listed.json()] == [sha(data)]
    assert listed.json()[0]["owner"] == owner.prn


def test_it_asks_an_unclaimed_device_to_be_claimed_first(api, make_device):
    lonely = make_device(None)
    answer = announce(api, lonely, b"data")
    assert answer.status_code == 403
    assert answer.json()["code"] == "unclaimed"
    assert "claim" in answer.json()["error"]


def test_it_needs_a_login_to_announce(api):
    assert announce(api, None, b"data").status_code == 401


def test_it_deletes_an_unused_object(api, owner, upload):
    data = random_bytes(100)
    upload(owner, data)
    assert api.as_(owner).delete(f"/objects/{sha(data)}").status_code == 200
    assert api.as_(owner).get(f"/objects/{sha(data)}").status_code == 404
    assert api.as_(owner).delete(f"/objects/{sha(data)}").status_code == 404


def test_it_pages_the_object_list(api, owner, give_objects):
    shas = sorted(sha(bytes([i])) for i in range(5))
    give_objects(owner, shas)
    first = api.as_(owner).get("/objects/?limit=2").json()
    assert [o["sha256sum"] for o in first] == shas[:2]
    rest = api.as_(owner).get(f"/objects/?after={shas[1]}").json()
    assert [o["sha256sum"] for o in rest] == shas[2:]


def test_it_lists_objects_in_one_query_after_auth(
    api, owner, give_objects, django_assert_num_queries
):
    give_objects(owner, [sha(bytes([i])) for i in range(20)])
    client = api.as_(owner)
    with django_assert_num_queries(2):  # the account, the objects with their owner
        assert len(client.get("/objects/").json()) == 20


def test_it_lets_a_device_upload_its_factory_objects(api, owner, device, trail_of, upload):
    data = random_bytes(100)
    trail_of(device, {"#spec": "pantavisor-service-system@1", "bsp/kernel.img": sha(data)})
    body = {"objectname": "kernel.img", "size": "100", "sha256sum": sha(data)}
    answer = api.as_(device).post(f"/trails/{device.id}/steps/0/objects", body, format="json")
    assert answer.status_code == 200
    assert put(api, answer.json()["signed-puturl"], data).status_code == 200
    listed = api.as_(device).get(f"/trails/{device.id}/steps/0/objects").json()
    assert listed[0]["objectname"] == "bsp/kernel.img"
    assert listed[0]["signed-geturl"]
    one = api.as_(device).get(f"/trails/{device.id}/steps/0/objects/{sha(data)}")
    assert one.status_code == 200 and one.json()["size"] == "100"


def test_it_gives_no_download_url_before_the_upload(api, owner):
    # kills: services/objects.py:60 "!=" -> "<=" (a PENDING object called stored, its get URL signed)
    data = random_bytes(100)
    body = announce(api, owner, data).json()
    assert body["signed-puturl"]
    assert body["signed-geturl"] == ""
    assert api.as_(owner).get(f"/objects/{sha(data)}").json()["signed-geturl"] == ""


def test_it_names_the_owner_of_a_revisions_objects(api, owner, device, trail_of, give_objects):
    # kills: services/objects.py:303 "is not" -> "is" (an owned device's objects shown ownerless)
    data = random_bytes(100)
    give_objects(owner, [sha(data)])
    trail_of(device, {"#spec": "pantavisor-service-system@1", "bsp/kernel.img": sha(data)})
    listed = api.as_(owner).get(f"/trails/{device.id}/steps/0/objects").json()
    assert [(o["objectname"], o["owner"]) for o in listed] == [("bsp/kernel.img", owner.prn)]


class TrickleStream:
    """A request body that hands over at most ``per_read`` bytes a read, as a socket
    does, and counts what was taken from it."""

    def __init__(self, data: bytes, per_read: int) -> None:
        self.body = io.BytesIO(data)
        self.per_read = per_read
        self.taken = 0

    def read(self, size: int) -> bytes:
        chunk = self.body.read(min(size, self.per_read))
        self.taken += len(chunk)
        return chunk


@pytest.mark.parametrize("per_read", [4, 1 << 20])
def test_it_reads_one_byte_past_the_announced_size_and_no_more(tmp_path, per_read):
    # kills: storage/base.py:56 "size + 1 - received" -> "size + 2 - …", "… + received", "… << received"
    data = random_bytes(100)
    stream = TrickleStream(data, per_read)
    with pytest.raises(UploadRejected) as caught:
        spool_verified(stream, 10, sha(data[:10]), tmp_path)
    assert caught.value.code == "size-mismatch"
    assert stream.taken == 11
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("announced", ["0" * 64, "f" * 64])
def test_it_refuses_bytes_whose_sha_sorts_either_side_of_the_announced_one(tmp_path, announced):
    # kills: storage/base.py:70 "!=" -> ">" (a digest below the announced sha passed)
    with pytest.raises(UploadRejected) as caught:
        spool_verified(io.BytesIO(b"kernel"), 6, announced, tmp_path)
    assert caught.value.code == "sha-mismatch"
    assert list(tmp_path.iterdir()) == []
