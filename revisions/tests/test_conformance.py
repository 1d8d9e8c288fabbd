"""Conformance: each real Pantahub client's request sequence, replayed call by call.

The judges are the clients' own sources (read through the search tool's
mirrors of pantavisor/pantavisor at 303584a7, pantacor/pvr at 09601ee1 and
pantavisor/pantavisor-mocker at 072455a); each step below cites the file and
line whose request it reproduces, with the body the client sends and the
answer it needs. Narrower tests of single calls live beside the code
(test_local_s3.py, test_pvr_wire.py, test_progress.py); these follow one
device or one pvr user from start to end, so a change that breaks the order
of things (a 404 before the login, a NEW step the mocker cannot parse, a
refused report that blocks the next revision) fails here.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest

from revisions.tests.conftest import random_bytes, sha

SPEC = "pantavisor-service-system@1"
# pantahub/pantahub_proto.c:58-59, QUERY_PENDING_STEPS, sent as it is.
PENDING_QUERY = (
    "?progress.status=%7B%22$in%22:%5B%22NEW%22,%22DOWNLOADING%22,%22INPROGRESS%22,"
    "%22TESTING%22,%22QUEUED%22%5D%7D"
)


def bearer(api, token: str | None):
    api.credentials(**({"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}))
    return api


def ok(response, status: int = 200):
    assert response.status_code == status, (response.status_code, response.content[:500])
    return (
        response.json()
        if response.get("Content-Type", "").startswith("application/json")
        else response
    )


def body_of(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


# --- Pantavisor ----------------------------------------------------------------


class Pantavisor:
    """One device, making the requests pantavisor/pantavisor makes, in its order."""

    def __init__(self, api) -> None:
        self.api = api
        self.token: str | None = None
        self.id = self.prn = self.secret = self.challenge = ""

    def register(self) -> None:
        """pantahub/pantahub.c:300-333: POST /devices/ with no body and a JSON content
        type; it needs a 200 and reads id, prn, secret (:324-330); challenge (:467)."""
        bearer(self.api, None)
        answer = ok(self.api.generic("POST", "/devices/", b"", "application/json"))
        self.id, self.prn, self.secret = answer["id"], answer["prn"], answer["secret"]
        self.challenge = answer["challenge"]

    def login(self) -> None:
        """pantahub/pantahub_proto.c:417-427: POST /auth/login {"username": prn,
        "password": secret}; the token is sent as a bearer from then on."""
        body = {"username": self.prn, "password": self.secret}
        self.token = ok(bearer(self.api, None).post("/auth/login", body, format="json"))["token"]

    def call(self, method: str, path: str, body=None, content_type="application/json"):
        data = json.dumps(body) if body is not None and not isinstance(body, bytes) else body
        return bearer(self.api, self.token).generic(method, path, data or b"", content_type)

    def owner(self) -> str:
        """pantahub/pantahub.c:455-462: GET /devices/<id>; "owner" "" means unclaimed."""
        return ok(self.call("GET", f"/devices/{self.id}"))["owner"]

    def sync_object(self, key: str, data: bytes) -> None:
        """updater.c:222-237 POSTs /objects/ with the full state key as objectname and the
        size as a string; on 200 (:257) it PUTs the file to PH_CREDS_HOST at
        strstr(signed_puturl, "/local-s3") (:298) with Content-Type application/json
        (:300), and needs a 200 (:313)."""
        announce = f'{{ "objectname": "{key}", "size": "{len(data)}", "sha256sum": "{sha(data)}" }}'
        granted = self.call("POST", "/objects/", announce.encode())
        if granted.status_code == 409:  # updater.c:244: already owned, skipped
            return
        puturl = ok(granted)["signed-puturl"]
        ok(self.call("PUT", puturl[puturl.index("/local-s3") :], data), 200)

    def post_factory_state(self, state: dict) -> None:
        """updater.c:408-414: once every object is synced, POST /trails/ with the state."""
        ok(self.call("POST", "/trails/", state))

    def put_device_meta(self, meta: dict) -> None:
        """pantahub/pantahub_proto.c:587-596: PUT /devices/<id>/device-meta, the whole object."""
        ok(self.call("PUT", f"/devices/{self.id}/device-meta", meta))

    def next_step(self) -> dict | None:
        """pantahub/pantahub_proto.c:678-681: GET /trails/<id>/steps?progress.status=
        {"$in": [pending statuses]}; the first element is the next update."""
        steps = ok(self.call("GET", f"/trails/{self.id}/steps{PENDING_QUERY}"))
        return steps[0] if steps else None

    def report(self, rev: int, status: str, progress: int, msg: str, **extra) -> dict:
        """update/update_progress.c:91-134 (_ser_progress): status, status-msg, progress,
        retries, downloads while DOWNLOADING, logs; PUT by pantahub_proto.c:964-967."""
        body = {"status": status, "status-msg": msg, "progress": progress, "retries": 1, **extra}
        return self.call("PUT", f"/trails/{self.id}/steps/{rev}/progress", body)

    def download(self, sha256: str) -> bytes:
        """pantahub_proto.c:749 GETs /objects/<sha>; _get_object (:849) hands the
        signed-geturl to event/event_rest.c:333-375, which sends only its path (:369);
        the answer must be 200 (pantahub_proto.c:832)."""
        geturl = ok(self.call("GET", f"/objects/{sha256}"))["signed-geturl"]
        return body_of(ok(bearer(self.api, None).get(urlsplit(geturl).path)))


@pytest.fixture
def owner_api(api, owner):
    from portal.auth import issue_token

    return issue_token(owner)


def owner_posts(api, token: str, device_id: str, state: dict, msg: str) -> int:
    """What pvr post sends for the owner (libpvr/repolib.go:1510-1549)."""
    body = {"commit-msg": msg, "rev": -1, "state": state}
    return ok(bearer(api, token).post(f"/trails/{device_id}/steps", body, format="json"))["rev"]


def test_pantavisor_claims_syncs_updates_and_a_failed_update_does_not_block_the_next(
    api, owner_api
):
    pv = Pantavisor(api)
    pv.register()
    pv.login()
    assert pv.owner() == ""
    ok(bearer(api, owner_api).put(f"/devices/{pv.id}?challenge={pv.challenge}"))
    assert pv.owner() != ""

    # First boot: pantahub_proto.c:515, GET /trails/ is [] until the factory sync.
    assert ok(pv.call("GET", "/trails/")) == []
    kernel, rootfs = random_bytes(4000), random_bytes(3000)
    factory = {
        "#spec": SPEC,
        "bsp/run.json": {"addons": [], "initrd": "pantavisor"},
        "bsp/kernel.img": sha(kernel),
        "app1/root.squashfs": sha(rootfs),
    }
    pv.sync_object("bsp/kernel.img", kernel)
    pv.sync_object("app1/root.squashfs", rootfs)
    pv.post_factory_state(factory)
    pv.put_device_meta({"pantavisor.arch": "aarch64/64/EL", "pantavisor.version": "019"})
    assert pv.next_step() is None  # rev 0 is DONE

    # An update posted with pvr: the device polls, downloads path-only, reports.
    new_rootfs = random_bytes(5000)
    bearer(api, owner_api)
    upload_as_owner(api, "app1/root.squashfs", new_rootfs)
    rev = owner_posts(
        api, owner_api, pv.id, {**factory, "app1/root.squashfs": sha(new_rootfs)}, "v2"
    )
    step = pv.next_step()
    assert step["rev"] == rev and isinstance(step["progress-time"], str)
    ok(pv.report(rev, "QUEUED", 0, "Update queued"))  # update.c:245-247
    assert pv.download(sha(new_rootfs)) == new_rootfs
    total = {"object_name": "total", "object_id": "none", "total_size": 5000,
             "total_downloaded": 5000, "start_time": 1, "current_time": 2}  # fmt: skip
    ok(pv.report(rev, "DOWNLOADING", 40, "Downloading", downloads={"total": total}))
    ok(pv.report(rev, "QUEUED", 0, "Retried 2 of 10"))  # a reboot mid-update resumes it
    ok(pv.report(rev, "INPROGRESS", 50, "Installing", logs="installed"))
    ok(pv.report(rev, "TESTING", 90, "Awaiting to see if update is stable"))
    ok(pv.report(rev, "DONE", 100, "Update finished"))
    assert pv.next_step() is None

    # A revision whose object fails its checksum: ERROR from DOWNLOADING (update.c:344-348);
    # the device re-sends its final word from disk (update.c:222-228); the next revision comes.
    broken = random_bytes(100)
    upload_as_owner(api, "app1/broken.img", broken)
    bad = owner_posts(api, owner_api, pv.id, {**factory, "app1/broken.img": sha(broken)}, "v3")
    assert pv.next_step()["rev"] == bad
    ok(pv.report(bad, "QUEUED", 0, "Update queued"))
    ok(pv.report(bad, "DOWNLOADING", 0, "Downloading"))
    ok(pv.report(bad, "ERROR", 0, "Object checksum mismatch"))
    ok(pv.report(bad, "ERROR", 0, "Object checksum mismatch"))
    fixed = owner_posts(api, owner_api, pv.id, factory, "back to the factory state")
    assert pv.next_step()["rev"] == fixed


def upload_as_owner(api, name: str, data: bytes) -> None:
    """pvr's object upload (libpvr/repolib.go:1228-1330): objectname is the state key."""
    body = {"objectname": name, "size": str(len(data)), "sha256sum": sha(data)}
    answer = api.post("/objects/", body, format="json")
    if answer.status_code == 409:
        return
    ok(api.generic("PUT", ok(answer)["signed-puturl"], data, "application/octet-stream"))


# --- pvr -------------------------------------------------------------------------


def test_pvr_clones_a_private_device_after_a_401_and_posts_with_force(api, owner, device):
    """pvr starts every call without a token (main.go:107, PVR_AUTH ""), and logs in only
    after a 401/403 (libpvr/session.go:95-160) at the ph-aeps of WWW-Authenticate (:81)."""
    from portal.auth import issue_token
    from revisions import services

    blob = random_bytes(2000)
    bearer(api, issue_token(owner))
    upload_as_owner(api, "app/root.squashfs", blob)
    services.create_trail(device, {"#spec": SPEC, "app/root.squashfs": sha(blob)})

    anonymous = bearer(api, None).get(f"/trails/{device.id}/.pvrremote")
    assert anonymous.status_code == 401
    challenge = anonymous["WWW-Authenticate"]
    assert 'realm="pantahub services"' in challenge and "ph-aeps=" in challenge
    aeps = challenge.split('ph-aeps="', 1)[1].split('"', 1)[0]
    token = ok(api.post(urlsplit(aeps).path + "/login",
                        {"username": "alice", "password": "correct horse battery staple"},
                        format="json"))["token"]  # fmt: skip

    remote = ok(bearer(api, token).get(f"/trails/{device.id}/.pvrremote"))
    assert remote["pvr-spec"] == "pvr-pantahub-1"
    assert remote["post-fields-opt"] == ["rev"]  # pantahub-base trails/get-trail-pvr.go:121-126
    objects = urlsplit(remote["objects-endpoint"]).path
    assert objects == f"/trails/{device.id}/steps/0/objects"
    state = ok(api.get(urlsplit(remote["json-get-url"]).path))
    # repolib.go: GET <objects-endpoint>/<sha>, then the signed-geturl as it is.
    info = ok(api.get(f"{objects}/{sha(blob)}"))
    assert body_of(ok(api.get(info["signed-geturl"]))) == blob

    # pvr post: announce the new object at the objects-endpoint (repolib.go:1261-1296)...
    new = random_bytes(1500)
    announce = {"objectname": "app/root.squashfs", "size": str(len(new)), "sha256sum": sha(new)}
    granted = ok(api.post(objects, announce, format="json"))
    ok(api.generic("PUT", granted["signed-puturl"], new, "application/octet-stream"))
    # ... --force announces it again: a 409 (repolib.go:1299-1335) whose signed-puturl
    # takes the same bytes again.
    again = api.post(objects, announce, format="json")
    assert again.status_code == 409 and again["Pantahub-Object-Type"] == "object"
    ok(api.generic("PUT", again.json()["signed-puturl"], new, "application/octet-stream"))
    # ... and the state to post-url (repolib.go:1510-1549), which answers rev and state-sha.
    state["app/root.squashfs"] = sha(new)
    posted = ok(api.post(urlsplit(remote["post-url"]).path,
                         {"commit-msg": "new rootfs", "rev": 1, "state": state}, format="json"))  # fmt: skip
    assert posted["rev"] == 1 and posted["trail-id"] == device.id and posted["state-sha"]


def test_pvr_anonymous_login_gets_a_token_that_reads_only_public_devices(api, owner, device):
    """libpvr/authlib.go:304-305: with no saved credentials pvr logs in as
    prn:pantahub.com:auth:/anon; a 401 there would make it prompt for a password."""
    from portal.auth import issue_token
    from revisions import services

    services.create_trail(device, {"#spec": SPEC, "a.json": {}})
    anon = "prn:pantahub.com:auth:/anon"
    token = ok(api.post("/auth/login", {"username": anon, "password": anon}, format="json"))[
        "token"
    ]
    assert bearer(api, token).get(f"/trails/{device.id}/steps/0").status_code in (401, 404)
    ok(bearer(api, issue_token(owner)).put(f"/devices/{device.id}/public"))
    assert ok(bearer(api, token).get(f"/trails/{device.id}/steps/0"))["rev"] == 0


# --- pantavisor-mocker -----------------------------------------------------------

# src/net/client.zig:19-61: the structs std.json parses answers into. A field with
# no default must be present with its type; `?` allows null; unknown fields are
# ignored (:340-341, :374-375, :398-399, :709-710).
STEP_FIELDS = {
    "id": str, "rev": int, "device": str, "owner": str, "trail-id": str, "time-created": str,
    "time-modified": str, "step-time": str, "progress-time": str,
}  # fmt: skip
PROGRESS_FIELDS = {"status": str, "progress": int, "status-msg": str, "logs": str}
OBJECT_FIELDS = {
    "id": str, "sha256sum": str, "size": str, "sizeint": int, "objectname": str,
    "expire-time": str, "now": str, "owner": str, "storage-id": str, "time-created": str,
    "time-modified": str, "mime-type": str,
}  # fmt: skip


def assert_shape(value: dict, fields: dict[str, type], what: str) -> None:
    for name, kind in fields.items():
        assert name in value, f"{what}: no {name!r}"
        assert isinstance(value[name], kind) and not isinstance(value[name], bool), (
            f"{what}: {name!r} is {value[name]!r}, the mocker needs a {kind.__name__}"
        )


def assert_progress_shape(progress: dict, what: str) -> None:
    """client.zig:8-25: StepProgress, downloads.total's four integers."""
    assert_shape(progress, PROGRESS_FIELDS, what)
    total = progress["downloads"]["total"]
    for name in ("total_size", "total_downloaded", "start_time", "current_time"):
        assert isinstance(total[name], int), f"{what}: downloads.total.{name} is {total[name]!r}"


def test_the_mocker_parses_every_answer_it_reads_from_a_new_step_to_an_error(api, owner_api):
    # client.zig:255-300: POST /devices/ with the body "{}"; then the login (:217).
    bearer(api, None)
    device = ok(api.generic("POST", "/devices/", b"{}", "application/json"))
    token = ok(api.post("/auth/login", {"username": device["prn"], "password": device["secret"]},
                        format="json"))["token"]  # fmt: skip
    ok(bearer(api, owner_api).put(f"/devices/{device['id']}?challenge={device['challenge']}"))
    mocker = Pantavisor(api)
    mocker.id, mocker.token = device["id"], token
    data = random_bytes(700)
    mocker.sync_object("bsp/kernel.img", data)
    state = {"#spec": SPEC, "bsp/kernel.img": sha(data), "bsp/run.json": {}}
    ok(mocker.call("POST", "/trails/", state))  # client.zig:310

    rev = owner_posts(api, owner_api, mocker.id, {**state, "bsp/run.json": {"v": 2}}, "v2")
    # client.zig:330-341 GET …/steps and :364-375 GET …/steps/<rev>, on a NEW step.
    for step in [*ok(mocker.call("GET", f"/trails/{mocker.id}/steps")),
                 ok(mocker.call("GET", f"/trails/{mocker.id}/steps/{rev}"))]:  # fmt: skip
        assert_shape(step, STEP_FIELDS, f"step {step['rev']}")
        assert_progress_shape(step["progress"], f"step {step['rev']} progress")
    # client.zig:388-399 GET …/steps/<rev>/objects, then curl GETs the full signed-geturl.
    [obj] = ok(mocker.call("GET", f"/trails/{mocker.id}/steps/{rev}/objects"))
    assert_shape(obj, OBJECT_FIELDS, "step object")
    assert body_of(ok(bearer(api, None).get(obj["signed-geturl"]))) == data
    # client.zig:695-710 GET …/progress, parsed as a StepProgress.
    assert_progress_shape(ok(mocker.call("GET", f"/trails/{mocker.id}/steps/{rev}/progress")),
                          "progress")  # fmt: skip
    # src/flows/update_flow.zig: DOWNLOADING, INPROGRESS, TESTING (:322-332), the
    # simulated reboot back to INPROGRESS (:349-351), DONE.
    for status in ("DOWNLOADING", "INPROGRESS", "TESTING", "INPROGRESS", "DONE"):
        ok(mocker.report(rev, status, 50, status.lower()))
    # update_flow.zig:312-315: a sha mismatch while downloading ends the step in ERROR.
    bad = owner_posts(api, owner_api, mocker.id, {**state, "bsp/run.json": {"v": 3}}, "v3")
    ok(mocker.report(bad, "DOWNLOADING", 10, "downloading"))
    ok(mocker.report(bad, "ERROR", 0, "sha256 mismatch"))
    final = ok(mocker.call("GET", f"/trails/{mocker.id}/steps/{bad}"))
    assert final["progress"]["status"] == "ERROR"
    assert_shape(final, STEP_FIELDS, "step after ERROR")
