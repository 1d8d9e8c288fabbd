"""``/local-s3/<token>``: the signed object URLs as the real clients use them.

Each test replays what Pantavisor (pantavisor/pantavisor) or pvr
(pantacor/pvr) does with the URLs ``POST /objects/`` and ``GET /objects/<sha>``
hand out, and cites the upstream lines. The bytes are stored on the
filesystem store here; test_objects_s3.py runs the device path against a
real S3 API.
"""

from __future__ import annotations

import asyncio
import socket
import time
from urllib.parse import urlsplit

import pytest
from asgiref.testing import ApplicationCommunicator
from channels.db import database_sync_to_async
from django.db import connections

from revisions import services
from revisions.models import Blob, OwnerObject
from revisions.storage import signing
from revisions.tests.conftest import random_bytes, sha
from trailhub.asgi import application
from trailhub.tests.asgi import answer


def stored(objects_dir, data: bytes) -> bool:
    return (objects_dir / sha(data)[:2] / sha(data)).is_file()


def updater_body(name: str, data: bytes) -> str:
    """The body updater.c:222-227 formats for ``POST /objects/``, spaces and all."""
    return f'{{ "objectname": "{name}", "size": "{len(data)}", "sha256sum": "{sha(data)}" }}'


def local_s3_path(url: str) -> str:
    """``strstr(signed_puturl, "/local-s3")``: the path and anything after it."""
    return url[url.index("/local-s3") :]


class Unreadable:
    """A request body that fails the test if the server reads a byte of it."""

    def read(self, *args) -> bytes:
        raise AssertionError("the body was read")

    readline = read


# --- downloads ---------------------------------------------------------------


def test_a_device_downloads_by_the_path_of_the_signed_geturl_alone(api, device, upload):
    """pantahub/pantahub_proto.c:739-749 GETs /objects/<sha> for the signed-geturl;
    _get_object (:849) hands it to pv_event_rest_send_by_url (event/event_rest.c:333-373),
    which sends only evhttp_uri_get_path() (:369), the query dropped; the download
    must answer 200 (pantahub_proto.c:832)."""
    data = random_bytes(3000)
    upload(device, data, "bsp/kernel.img")
    geturl = api.as_(device).get(f"/objects/{sha(data)}").json()["signed-geturl"]
    parts = urlsplit(geturl)
    assert parts.path.startswith("/local-s3/get.") and parts.query == ""
    got = api.as_(None).get(parts.path)
    assert got.status_code == 200
    assert b"".join(got.streaming_content) == data
    with_slash = api.as_(None).get(parts.path + "/")
    assert with_slash.status_code == 200, "every API path answers with and without a slash"


def test_a_download_resumes_from_a_range(api, owner, upload):
    """The single Range S3 answers, kept for a resumed download (pvr and trail ask the
    signed-geturl again with Range after a cut; Pantavisor's path-only GET is the same URL)."""
    data = random_bytes(1000)
    upload(owner, data)
    path = urlsplit(api.as_(owner).get(f"/objects/{sha(data)}").json()["signed-geturl"]).path
    part = api.as_(None).get(path, HTTP_RANGE="bytes=990-")
    assert part.status_code == 206
    assert part["Content-Range"] == "bytes 990-999/1000"
    assert b"".join(part.streaming_content) == data[990:]
    past = api.as_(None).get(path, HTTP_RANGE="bytes=1000-")
    assert past.status_code == 416 and past["Content-Range"] == "bytes */1000"


@pytest.mark.parametrize(
    "asked, status, content_range, body",
    [
        ("bytes=0-0", 206, "bytes 0-0/1000", slice(0, 1)),
        ("bytes=990-1000", 206, "bytes 990-999/1000", slice(990, 1000)),  # one past the end
        ("bytes=990-5000", 206, "bytes 990-999/1000", slice(990, 1000)),  # to the end
        ("bytes=999-", 206, "bytes 999-999/1000", slice(999, 1000)),  # the last byte
        ("bytes=1000-", 416, "bytes */1000", slice(0, 0)),  # where a complete file ends
        ("bytes=5000-", 416, "bytes */1000", slice(0, 0)),
        ("bytes=1000-1999", 416, "bytes */1000", slice(0, 0)),
        ("bytes=10-5", 200, None, slice(0, 1000)),  # not a valid range: ignored
        ("bytes=-100", 200, None, slice(0, 1000)),  # a suffix: answered in full
        ("bytes=0-1,5-6", 200, None, slice(0, 1000)),  # several: answered in full
        ("items=0-5", 200, None, slice(0, 1000)),  # another unit: answered in full
    ],
)
def test_a_range_is_answered_as_s3_answers_it(
    api, owner, upload, asked, status, content_range, body
):
    """A resumed download (trail/bodies.py) reads the 206's Content-Range to know where
    the bytes start and a 416 to know its part file is not the object's beginning; the
    416 carries the size (RFC 9110 15.5.17) and no bytes of the object."""
    data = random_bytes(1000)
    upload(owner, data)
    path = urlsplit(api.as_(owner).get(f"/objects/{sha(data)}").json()["signed-geturl"]).path
    answer = api.as_(None).get(path, HTTP_RANGE=asked)
    assert answer.status_code == status
    assert answer.get("Content-Range") == content_range
    got = b"".join(answer.streaming_content) if answer.streaming else answer.content
    assert got == data[body]


@pytest.mark.parametrize(
    "alter",
    [
        lambda path: path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB"),
        lambda path: path.replace(path.split(".")[1], "0" * 64),
        lambda path: path.replace(path.split(".")[2], str(int(path.split(".")[2]) + 3600)),
    ],
    ids=["signature", "sha", "expiry"],
)
def test_an_altered_download_url_is_refused(api, owner, upload, alter):
    """The grant is in the path (as pantahub-base's objects/service.go:175-193 puts its
    token there); altering any of it is a 403."""
    data = random_bytes(100)
    upload(owner, data)
    path = urlsplit(api.as_(owner).get(f"/objects/{sha(data)}").json()["signed-geturl"]).path
    assert api.as_(None).get(path).status_code == 200
    answer = api.as_(None).get(alter(path))
    assert answer.status_code == 403
    assert answer.json()["code"] == "bad-signature"


def test_an_upload_url_does_not_download_nor_a_download_url_upload(api, owner, objects_dir):
    data = random_bytes(100)
    grant = services.request_upload(owner, sha(data), 100).id
    exp = int(time.time()) + 60
    put_only = f"/local-s3/{signing.sign('put', sha(data), exp, grant, 100)}"
    get_only = f"/local-s3/{signing.sign('get', sha(data), exp)}"
    assert api.get(put_only).status_code == 403
    refused = api.generic("PUT", get_only, data, "application/octet-stream")
    assert refused.status_code == 403 and refused.json()["code"] == "bad-signature"
    assert not stored(objects_dir, data)


def test_an_expired_download_url_is_refused(api, owner, upload):
    data = random_bytes(100)
    upload(owner, data)
    expired = api.get(f"/local-s3/{signing.sign('get', sha(data), int(time.time()) - 1)}")
    assert expired.status_code == 403 and expired.json()["code"] == "expired"


# --- uploads ------------------------------------------------------------------


@pytest.mark.parametrize("query", ["", "?x-id=PutObject&n=1"])
def test_a_device_uploads_as_updater_does(api, device, objects_dir, query):
    """updater.c:222-237 POSTs /objects/ with objectname = the state key; :298 PUTs
    to strstr(signed_puturl, "/local-s3") on its hub (the path and anything after it),
    :300 with Content-Type application/json over raw bytes, and :317 wants a 200.
    A second POST is a 409 (:241), which it takes as "already uploaded"."""
    data = b'{"this is": not json' + random_bytes(4000)
    answer = api.as_(device).generic(
        "POST", "/objects/", updater_body("bsp/kernel.img", data), "application/json"
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["objectname"] == "bsp/kernel.img"
    path = local_s3_path(answer.json()["signed-puturl"])
    put = api.as_(None).generic("PUT", path + query, data, "application/json")
    assert put.status_code == 200, put.content
    assert (objects_dir / sha(data)[:2] / sha(data)).read_bytes() == data
    again = api.as_(device).generic(
        "POST", "/objects/", updater_body("bsp/kernel.img", data), "application/json"
    )
    assert again.status_code == 409 and again["Pantahub-Object-Type"] == "object"


@pytest.mark.django_db(transaction=True)
def test_a_device_uploads_over_http_1_0(api, device, objects_dir, live_server):
    """updater.c:270-272 sends the PUT as HTTP/1.0 (thttp), Content-Length and
    Content-Type application/json (:300-302), to the path from "/local-s3" (:298)."""
    data = random_bytes(70_000)
    answer = api.as_(device).generic(
        "POST", "/objects/", updater_body("app1/root.squashfs", data), "application/json"
    )
    path = local_s3_path(answer.json()["signed-puturl"])
    host, port = urlsplit(live_server.url).hostname, urlsplit(live_server.url).port
    head = (
        f"PUT {path} HTTP/1.0\r\nHost: {host}:{port}\r\nUser-Agent: Pantavisor/2\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
    )
    with socket.create_connection((host, port), timeout=30) as conn:
        conn.sendall(head.encode() + data)
        reply = b""
        while chunk := conn.recv(65536):
            reply += chunk
    assert reply.split(b"\r\n", 1)[0].split()[1] == b"200", reply[:300]
    assert (objects_dir / sha(data)[:2] / sha(data)).read_bytes() == data


@pytest.mark.parametrize("name", ["bsp/kernel.img", "app1/root.squashfs", "my app/lxc config"])
def test_pvr_posts_objects_named_by_their_state_key(api, owner, objects_dir, name):
    """pvr's postObjects sets ObjectName = k, the state key (libpvr/repolib.go:1259), and
    stops on anything but 200 or 409 (:1291-1296); its worker PUTs the file to the
    signed-puturl with Content-Length (:1120-1121) and wants a 200 (:1352)."""
    data = random_bytes(2000)
    body = {"objectname": name, "size": str(len(data)), "sha256sum": sha(data)}
    body["mime-type"] = "application/octet-stream"
    answer = api.as_(owner).post("/objects/", body, format="json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["objectname"] == name
    put = api.as_(None).generic("PUT", answer.json()["signed-puturl"], data, "")
    assert put.status_code == 200
    assert stored(objects_dir, data)
    assert not (objects_dir / name).exists(), "the objectname is a label, not a path"
    assert OwnerObject.objects.get(owner=owner).objectname == name


def test_pvr_force_reuploads_to_the_409_signed_puturl(api, owner, objects_dir, upload):
    """With --force, pvr takes a 409 of type "object" like a 200: it reads signed-puturl
    from the 409 body and PUTs the file there (libpvr/repolib.go:1302-1340, worker
    :1120), then wants a 200 (:1352). The re-upload is verified and changes nothing."""
    data = random_bytes(3000)
    upload(owner, data)
    body = {"objectname": "bsp/kernel.img", "size": "3000", "sha256sum": sha(data)}
    conflict = api.as_(owner).post("/objects/", body, format="json")
    assert conflict.status_code == 409 and conflict["Pantahub-Object-Type"] == "object"
    puturl = conflict.json()["signed-puturl"]
    assert "/local-s3/put." in puturl
    wrong = api.as_(None).generic("PUT", puturl, random_bytes(3000), "application/octet-stream")
    assert wrong.status_code == 400 and wrong.json()["code"] == "sha-mismatch"
    forced = api.as_(None).generic("PUT", puturl, data, "application/octet-stream")
    assert forced.status_code == 200, forced.content
    assert (objects_dir / sha(data)[:2] / sha(data)).read_bytes() == data
    assert Blob.objects.count() == 1
    assert OwnerObject.objects.get(owner=owner).kind == "object"
    assert not list((objects_dir / "tmp").iterdir())


def test_a_link_409_keeps_its_type_and_offers_no_upload(
    api, owner, outsider, make_device, upload, trail_of
):
    """pvr prints [LK] and skips a 409 of type "link", --force or not
    (libpvr/repolib.go:1302-1316)."""
    data = random_bytes(100)
    public = make_device(outsider, public=True)
    upload(outsider, data)
    trail_of(public, {"#spec": "pantavisor-service-system@1", "bsp/kernel.img": sha(data)})
    body = {"objectname": "bsp/kernel.img", "size": "100", "sha256sum": sha(data)}
    linked = api.as_(owner).post("/objects/", body, format="json")
    assert linked.status_code == 409 and linked["Pantahub-Object-Type"] == "link"
    assert linked.json()["signed-puturl"] == ""


def test_a_tampered_upload_url_stores_nothing(api, owner, objects_dir):
    """Same token, another size signed in: refused, nothing kept."""
    data = random_bytes(100)
    url = (
        api.as_(owner)
        .post(
            "/objects/",
            {"objectname": "bsp/kernel.img", "size": "100", "sha256sum": sha(data)},
            format="json",
        )
        .json()["signed-puturl"]
    )
    tampered = url.replace(".100.", ".99.")
    assert tampered != url
    answer = api.as_(None).generic("PUT", tampered, data[:99], "application/json")
    assert answer.status_code == 403
    assert not stored(objects_dir, data[:99]) and not stored(objects_dir, data)
    assert OwnerObject.objects.get(owner=owner).kind == "pending"


@pytest.mark.parametrize(
    "path, length, status",
    [
        ("signed", "101", 413),
        ("unsigned", "100", 403),
        ("signed", "99", 400),
    ],
)
def test_a_bad_upload_is_refused_before_its_body_is_read(
    api, owner, objects_dir, path, length, status
):
    """Under WSGI (the deployed HTTP server): the token, the method and the Content-Length
    are checked before the view touches the request stream."""
    data = random_bytes(100)
    url = (
        api.as_(owner)
        .post("/objects/", {"size": "100", "sha256sum": sha(data)}, format="json")
        .json()["signed-puturl"]
    )
    target = local_s3_path(url) if path == "signed" else "/local-s3/put.not-a-token"
    answer = api.as_(None).generic(
        "PUT",
        target,
        b"",
        "application/json",
        **{"wsgi.input": Unreadable(), "CONTENT_LENGTH": length},
    )
    assert answer.status_code == status, answer.content
    assert not stored(objects_dir, data)


# --- under ASGI: refused before Django spools the body --------------------------


def _put_scope(path: str, length: int | None) -> dict:
    headers = [(b"host", b"testserver"), (b"content-type", b"application/json")]
    if length is not None:
        headers.append((b"content-length", str(length).encode()))
    return {
        "type": "http",
        "http_version": "1.0",
        "method": "PUT",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
    }


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("how", ["too-large", "unsigned", "get-token"])
async def test_asgi_refuses_a_bad_upload_without_waiting_for_its_body(owner, objects_dir, how):
    """No body message is ever sent: an answer that waited for the body would never come."""
    data = random_bytes(100)
    grant = await database_sync_to_async(services.request_upload)(owner, sha(data), 100)
    exp = int(time.time()) + 60
    token = {
        "too-large": signing.sign("put", sha(data), exp, grant.id, 100),
        "unsigned": "put." + sha(data) + ".9999999999." + grant.id + ".100.x",
        "get-token": signing.sign("get", sha(data), exp),
    }[how]
    communicator = ApplicationCommunicator(
        application, _put_scope(f"/local-s3/{token}", 10**10 if how == "too-large" else 100)
    )
    status, body = await answer(communicator)
    assert (status, body["code"]) == {
        "too-large": (413, "too-large"),
        "unsigned": (403, "bad-signature"),
        "get-token": (403, "bad-signature"),
    }[how]
    await communicator.wait(5)
    assert not stored(objects_dir, data)
    await database_sync_to_async(connections.close_all)()


@pytest.mark.django_db(transaction=True)
async def test_asgi_reads_at_most_one_byte_past_the_signed_size(owner, objects_dir):
    """Without a Content-Length (a chunked upload) the body is cut after size + 1
    bytes and refused; the rest is never spooled."""
    data = random_bytes(100)
    grant = await database_sync_to_async(services.request_upload)(owner, sha(data), 100)
    token = signing.sign("put", sha(data), int(time.time()) + 60, grant.id, 100)
    communicator = ApplicationCommunicator(application, _put_scope(f"/local-s3/{token}", None))
    for _ in range(50):  # 5 MB offered, 100 bytes signed
        await communicator.send_input(
            {"type": "http.request", "body": b"x" * 100_000, "more_body": True}
        )
    status, body = await answer(communicator)
    assert (status, body["code"]) == (400, "size-mismatch")
    assert "more than the announced 100 bytes" in body["error"]
    await asyncio.wait_for(communicator.wait(5), 10)
    assert not stored(objects_dir, data)
    await database_sync_to_async(connections.close_all)()


@pytest.mark.django_db(transaction=True)
async def test_asgi_stores_a_good_upload(owner, objects_dir):
    """The same PUT updater.c:298-302 sends, through the ASGI application (make run)."""
    data = random_bytes(300_000)
    grant = await database_sync_to_async(services.request_upload)(owner, sha(data), len(data))
    token = signing.sign("put", sha(data), int(time.time()) + 60, grant.id, len(data))
    communicator = ApplicationCommunicator(application, _put_scope(f"/local-s3/{token}", len(data)))
    await communicator.send_input({"type": "http.request", "body": data[:1000], "more_body": True})
    await communicator.send_input({"type": "http.request", "body": data[1000:]})
    status, body = await answer(communicator)
    assert status == 200 and body["status"] == "stored"
    assert (objects_dir / sha(data)[:2] / sha(data)).read_bytes() == data
    await communicator.wait(5)
    await database_sync_to_async(connections.close_all)()


# --- the scheme ---------------------------------------------------------------------


def test_urls_are_https_when_the_hub_is_reached_through_https(api, owner, device, settings):
    """Pantavisor refuses a signed-geturl that is not https (event/event_rest.c:351-356),
    and pvr logs in at ph-aeps. TLS at the server itself, or at a proxy that says so
    in X-Forwarded-Proto when BEHIND_TLS_PROXY=1 (SECURE_PROXY_SSL_HEADER) and passes
    the Host header on (without it the URLs name the workers' own port)."""
    data = random_bytes(100)
    body = {"objectname": "bsp/kernel.img", "size": "100", "sha256sum": sha(data)}
    direct = api.as_(device).post("/objects/", body, format="json", secure=True)
    assert direct.json()["signed-puturl"].startswith("https://testserver/local-s3/put.")
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.ALLOWED_HOSTS = ["hub.example.com"]
    proxy = {"HTTP_X_FORWARDED_PROTO": "https", "HTTP_HOST": "hub.example.com"}
    proxied = api.as_(device).post("/objects/", body, format="json", **proxy)
    assert proxied.json()["signed-puturl"].startswith("https://hub.example.com/local-s3/put.")
    path = local_s3_path(proxied.json()["signed-puturl"])
    assert api.as_(None).generic("PUT", path, data, "application/json", **proxy).status_code == 200
    found = api.as_(device).get(f"/objects/{sha(data)}", **proxy)
    assert found.json()["signed-geturl"].startswith("https://hub.example.com/local-s3/get.")
    anonymous = api.as_(None).get("/objects/", **proxy)
    assert anonymous.status_code == 401
    assert 'ph-aeps="https://hub.example.com/auth"' in anonymous["WWW-Authenticate"]
    plain = api.as_(device).get(f"/objects/{sha(data)}", HTTP_HOST="hub.example.com")
    assert plain.json()["signed-geturl"].startswith("http://"), "plain http stays http"


@pytest.mark.parametrize(("grant", "size"), [("", 100), ("g-1", 100), ("g1", None), ("g1", -1)])
def test_it_signs_no_upload_without_a_grant_and_a_size(grant, size):
    # kills: storage/signing.py:60 "size < 0" -> "size < -1" (a token for -1 bytes)
    with pytest.raises(ValueError, match="needs its grant and size"):
        signing.sign("put", "a" * 64, int(time.time()) + 60, grant, size)
