"""Objects on a real S3 API (OpenStack Swift with s3api, started by the swift_s3 fixture).

People's signed URLs are the bucket's presigned URLs: Swift itself refuses
expired and altered ones. Their uploads land on per-grant staging keys and are
verified by Trailhub before they become the shared content. A device's signed
URLs are its hub's ``/local-s3/…`` (the last tests here).
"""

from __future__ import annotations

import datetime as dt
import io
import tarfile
from unittest import mock

import httpx
import pytest
from botocore.exceptions import ClientError

from revisions import gc, services
from revisions.models import Blob, OwnerObject
from revisions.storage.base import attachment, content_key
from revisions.storage.s3 import S3Store
from revisions.tests.conftest import random_bytes, sha

SPEC = "pantavisor-service-system@1"


def announce(api, subject, data: bytes, size: int | None = None):
    body = {"objectname": "blob", "size": str(len(data) if size is None else size)}
    body["sha256sum"] = sha(data)
    return api.as_(subject).post("/objects/", body, format="json")


def keys(store: S3Store) -> set[str]:
    listed = store.test_client.list_objects_v2(Bucket=store.bucket)
    return {item["Key"] for item in listed.get("Contents", [])}


def read_key(store: S3Store, key: str) -> bytes:
    return store.test_client.get_object(Bucket=store.bucket, Key=key)["Body"].read()


def test_it_uploads_through_a_presigned_url(api, owner, s3_objects):
    data = random_bytes(70_000)
    grant = announce(api, owner, data).json()
    assert "X-Amz-Signature=" in grant["signed-puturl"]
    assert grant["signed-puturl"].startswith(s3_objects.client.meta.endpoint_url)
    assert httpx.put(grant["signed-puturl"], content=data).status_code == 200
    assert not Blob.objects.exists(), "nothing is present until Trailhub verified it"
    found = api.as_(owner).get(f"/objects/{sha(data)}").json()
    assert found["signed-geturl"]
    assert httpx.get(found["signed-geturl"]).content == data
    assert Blob.objects.get(sha256=sha(data)).size == len(data)
    assert keys(s3_objects) == {f"{sha(data)[:2]}/{sha(data)}"}, "the staging key is gone"
    again = announce(api, owner, data)
    assert again.status_code == 409 and again["Pantahub-Object-Type"] == "object"


def test_it_waits_for_the_bytes(api, owner, device, trail_of, s3_objects):
    data = random_bytes(100)
    announce(api, owner, data)
    assert api.as_(owner).get(f"/objects/{sha(data)}").json()["signed-geturl"] == ""
    trail = trail_of(device, {"#spec": SPEC})
    with pytest.raises(Exception) as refused:
        services.post_step(trail, {"#spec": SPEC, "k.img": sha(data)})
    assert refused.value.code == "missing-objects"


def test_it_installs_uploads_when_a_step_names_them(api, owner, device, trail_of, s3_objects):
    data = random_bytes(1000)
    grant = announce(api, owner, data).json()
    httpx.put(grant["signed-puturl"], content=data).raise_for_status()
    trail = trail_of(device, {"#spec": SPEC})
    step = services.post_step(trail, {"#spec": SPEC, "bsp/kernel.img": sha(data)})
    assert step.rev == 1
    answer = api.as_(owner).get("/exports/alice/kiosk/1/kiosk.tar.gz")
    raw = b"".join(answer.streaming_content)
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:gz") as tar:
        assert tar.extractfile(f"objects/{sha(data)}").read() == data
    listed = api.as_(device).get(f"/trails/{device.id}/steps/1/objects").json()
    got = api.as_(None).get(listed[0]["signed-geturl"])  # a device's URL is its hub's
    assert b"".join(got.streaming_content) == data
    listed = api.as_(owner).get(f"/trails/{device.id}/steps/1/objects").json()
    assert httpx.get(listed[0]["signed-geturl"]).content == data


@pytest.mark.parametrize("sent", ["wrong-bytes", "wrong-size"])
def test_it_discards_an_upload_that_does_not_match(api, owner, s3_objects, sent):
    data = random_bytes(1000)
    grant = announce(api, owner, data).json()
    body = random_bytes(1000) if sent == "wrong-bytes" else data[:999]
    assert httpx.put(grant["signed-puturl"], content=body).status_code == 200  # S3 cannot tell
    again = announce(api, owner, data)
    assert again.status_code == 200, "still to be uploaded"
    assert not Blob.objects.exists()
    assert keys(s3_objects) == set(), "the bad upload was deleted, nothing was published"
    assert OwnerObject.objects.get(owner=owner).kind == "pending"


def test_swift_refuses_an_expired_presigned_url(api, owner, s3_objects):
    data = random_bytes(100)
    past = dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)
    with mock.patch("botocore.auth.get_current_datetime", return_value=past):
        grant = announce(api, owner, data).json()
    refused = httpx.put(grant["signed-puturl"], content=data)
    assert refused.status_code == 403
    assert b"expired" in refused.content
    assert keys(s3_objects) == set()


@pytest.mark.parametrize("alter", ["key", "signature", "expiry"])
def test_swift_refuses_an_altered_presigned_url(api, owner, s3_objects, alter):
    data = random_bytes(100)
    url = announce(api, owner, data).json()["signed-puturl"]
    if alter == "key":  # aim the grant at the shared content key
        start = url.index("/uploads/")
        end = url.index("?")
        url = url[:start] + f"/{sha(data)[:2]}/{sha(data)}" + url[end:]
    elif alter == "signature":
        url = url[:-4] + ("0000" if not url.endswith("0000") else "1111")
    else:
        url = url.replace("X-Amz-Expires=", "X-Amz-Expires=9")
    refused = httpx.put(url, content=data)
    assert refused.status_code == 403
    assert b"SignatureDoesNotMatch" in refused.content
    assert keys(s3_objects) == set()


def test_an_uploader_cannot_overwrite_stored_content(api, owner, outsider, s3_objects):
    data = random_bytes(500)
    first = announce(api, owner, data).json()
    httpx.put(first["signed-puturl"], content=data).raise_for_status()
    assert api.as_(owner).get(f"/objects/{sha(data)}").status_code == 200  # verified, installed
    second = announce(api, outsider, data).json()
    assert "/uploads/" in second["signed-puturl"]
    httpx.put(second["signed-puturl"], content=random_bytes(500)).raise_for_status()
    announce(api, outsider, data)  # looks at, and discards, the wrong upload
    assert read_key(s3_objects, f"{sha(data)[:2]}/{sha(data)}") == data
    assert OwnerObject.objects.get(owner=outsider).kind == "pending"
    httpx.put(announce(api, outsider, data).json()["signed-puturl"], content=data)
    assert announce(api, outsider, data).status_code == 409
    assert Blob.objects.count() == 1


def test_it_refuses_to_publish_an_upload_replaced_while_verified(owner, s3_objects):
    data = random_bytes(300)
    obj = services.request_upload(owner, sha(data), len(data))
    key = s3_objects.staging_key(obj.id)
    s3_objects.test_client.put_object(Bucket=s3_objects.bucket, Key=key, Body=data)
    verified = s3_objects.fetch_staged(obj)
    s3_objects.test_client.put_object(Bucket=s3_objects.bucket, Key=key, Body=random_bytes(300))
    with pytest.raises(Exception) as refused:
        s3_objects.install(verified, sha(data))
    assert getattr(refused.value, "code", "") == "upload-changed"
    with pytest.raises(ClientError):
        s3_objects.test_client.head_object(
            Bucket=s3_objects.bucket, Key=f"{sha(data)[:2]}/{sha(data)}"
        )


def test_it_collects_garbage_in_the_bucket(api, owner, s3_objects, settings):
    data = random_bytes(100)
    httpx.put(announce(api, owner, data).json()["signed-puturl"], content=data)
    assert api.as_(owner).get(f"/objects/{sha(data)}").status_code == 200
    later = gc.cutoff() + dt.timedelta(seconds=settings.OBJECTS_GC_GRACE + 60)
    assert gc.collect(sha(data), later) is True
    assert keys(s3_objects) == set()
    leftover = services.request_upload(owner, "b" * 64, 3)
    s3_objects.test_client.put_object(
        Bucket=s3_objects.bucket, Key=s3_objects.staging_key(leftover.id), Body=b"abc"
    )
    assert gc.sweep_uploads(later) == 1
    assert keys(s3_objects) == set()


# --- a device goes through its hub --------------------------------------------------


def test_a_device_uploads_and_downloads_through_the_hub(api, owner, device, s3_objects):
    """A device sends only the path of a signed URL, to its own hub: updater.c:298 PUTs
    to strstr(signed_puturl, "/local-s3") on PH_CREDS_HOST with Content-Type
    application/json (:300), and event/event_rest.c:369 GETs the signed-geturl's path
    alone (pantahub_proto.c:849). So a device gets hub URLs; the hub verifies the upload
    and stores it under the content key, and streams the download from the bucket."""
    data = random_bytes(300_000)
    body = {"objectname": "bsp/kernel.img", "size": str(len(data)), "sha256sum": sha(data)}
    grant = api.as_(device).post("/objects/", body, format="json").json()
    puturl = grant["signed-puturl"]
    assert puturl.startswith("http://testserver/local-s3/put."), puturl
    path = puturl[puturl.index("/local-s3") :]
    put = api.as_(None).generic("PUT", path, data, "application/json")
    assert put.status_code == 200, put.content
    assert keys(s3_objects) == {f"{sha(data)[:2]}/{sha(data)}"}, "no staging key"
    assert read_key(s3_objects, f"{sha(data)[:2]}/{sha(data)}") == data
    assert OwnerObject.objects.get(owner=owner).kind == "object"
    geturl = api.as_(device).get(f"/objects/{sha(data)}").json()["signed-geturl"]
    assert geturl.startswith("http://testserver/local-s3/get.") and "?" not in geturl
    got = api.as_(None).get(geturl.removeprefix("http://testserver"))
    assert got.status_code == 200 and got["Content-Length"] == str(len(data))
    assert b"".join(got.streaming_content) == data
    part = api.as_(None).get(geturl, HTTP_RANGE="bytes=299990-")
    assert (
        part.status_code == 206
        and part["Content-Range"] == f"bytes 299990-{len(data) - 1}/{len(data)}"
    )
    assert b"".join(part.streaming_content) == data[299990:]
    person = api.as_(owner).get(f"/objects/{sha(data)}").json()["signed-geturl"]
    assert "X-Amz-Signature=" in person, "people keep the bucket's presigned URLs"
    assert httpx.get(person).content == data


@pytest.mark.parametrize("sent", ["wrong-bytes", "too-long"])
def test_the_hub_refuses_a_devices_bad_upload_and_keeps_nothing(api, device, s3_objects, sent):
    data = random_bytes(1000)
    body = {"objectname": "app1/root.squashfs", "size": "1000", "sha256sum": sha(data)}
    puturl = api.as_(device).post("/objects/", body, format="json").json()["signed-puturl"]
    payload = random_bytes(1000) if sent == "wrong-bytes" else data + b"x"
    answer = api.as_(None).generic("PUT", puturl, payload, "application/json")
    assert answer.status_code == (400 if sent == "wrong-bytes" else 413)
    assert keys(s3_objects) == set()
    assert not Blob.objects.exists()


def test_a_persons_download_is_saved_under_the_name_asked_for(owner, s3_objects, rf):
    """The portal's downloads ask the bucket for Content-Disposition in the presigned URL
    (response-content-disposition), as the filesystem store's /local-s3/ answers it."""
    data = b"curriculum vitae\n"
    s3_objects.test_client.put_object(
        Bucket=s3_objects.bucket, Key=content_key(sha(data)), Body=data
    )
    request = rf.get("/")
    request.user = owner
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)
    url = s3_objects.download_url(request, sha(data), expires, filename='résumé "final".txt')
    answer = httpx.get(url)
    assert answer.status_code == 200 and answer.content == data
    assert answer.headers["Content-Disposition"] == attachment('résumé "final".txt')
    assert answer.headers["Content-Disposition"].startswith("attachment; filename*=utf-8''")
    plain = httpx.get(s3_objects.download_url(request, sha(data), expires))
    assert "Content-Disposition" not in plain.headers
