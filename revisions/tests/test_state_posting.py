"""Posting states: the real ones round-trip with their state-sha; bad ones store nothing."""

from __future__ import annotations

import json

import pytest

from revisions.models import Step, Trail
from revisions.storage.base import SHA256_RE as SHA_RE
from revisions.tests.conftest import sha
from testsupport.testdata import STATES, read_state
from trail.state import is_object_key, load_state, state_sha

KNOWN_SHAS = {
    line.split()[1].removeprefix("states/"): line.split()[0]
    for line in (STATES / "STATE-SHA256").read_text().splitlines()
    if line and not line.startswith("#")
}
SPEC = "pantavisor-service-system@1"
SHA_A = "a" * 64


@pytest.fixture
def posted(api, owner, device, trail_of, give_objects):
    """``posted(state)``: post ``state`` as alice's next revision of her device; the answer."""
    trail_of(device, {"#spec": SPEC})

    def post(state, **extra):
        if isinstance(state, dict):
            shas = [v for k, v in state.items() if is_object_key(k) and SHA_RE.match(str(v))]
            give_objects(owner, shas)
        body = {"commit-msg": "test", "state": state, **extra}
        return api.as_(owner).post(f"/trails/{device.id}/steps", body, format="json")

    return post


def post_raw(api, subject, path: str, raw: bytes):
    return api.as_(subject).generic("POST", path, raw, "application/json")


def test_it_knows_every_real_state():
    assert len(KNOWN_SHAS) == len(list(STATES.glob("*.json"))) >= 8


@pytest.mark.parametrize("name", sorted(KNOWN_SHAS))
def test_it_round_trips_a_real_state_through_post_and_get(api, owner, device, posted, name):
    state = read_state(name)
    answer = posted(state)
    assert answer.status_code == 200, answer.json()
    assert answer.json()["state-sha"] == KNOWN_SHAS[name]
    rev = answer.json()["rev"]
    got = api.as_(owner).get(f"/trails/{device.id}/steps/{rev}/state")
    assert state_sha(load_state(got.content)) == KNOWN_SHAS[name]
    step = api.as_(owner).get(f"/trails/{device.id}/steps/{rev}").json()
    assert step["state-sha"] == KNOWN_SHAS[name]
    assert state_sha(step["state"]) == KNOWN_SHAS[name]


@pytest.mark.parametrize("name", sorted(KNOWN_SHAS))
def test_it_round_trips_a_real_factory_state(api, owner, make_device, name):
    device = make_device(owner)
    raw = (STATES / name).read_bytes()  # as the device sends it, whitespace and all
    answer = post_raw(api, device, "/trails/", raw)
    assert answer.status_code == 200, answer.json()
    step = Step.objects.get(trail_id=device.id, rev=0)
    assert (step.state_sha, step.status, step.progress) == (KNOWN_SHAS[name], "DONE", 100)
    got = api.as_(device).get(f"/trails/{device.id}/steps/0/state")
    assert state_sha(load_state(got.content)) == KNOWN_SHAS[name]
    assert api.as_(device).get(f"/trails/{device.id}").json()["factory-state"] == json.loads(raw)


BAD_STATES = [
    ({"#spec": "pantavisor-unknown@9"}, "bad-spec", "pantavisor-unknown@9"),
    ({"bsp/kernel.img": SHA_A}, "bad-spec", "#spec"),
    ({"#spec": SPEC, "../etc/passwd": SHA_A}, "bad-key", "../etc/passwd"),
    ({"#spec": SPEC, "/etc/passwd": SHA_A}, "bad-key", "/etc/passwd"),
    ({"#spec": SPEC, "a/../../b": SHA_A}, "bad-key", "a/../../b"),
    # NUL is refused by the JSON parser, for every body (portal/parsers.py).
    ({"#spec": SPEC, "bsp/ker\x00nel.img": SHA_A}, "nul-character", "\\u0000"),
    ({"#spec": SPEC, "bsp/kernel.img": "not-a-sha"}, "bad-sha", "bsp/kernel.img"),
    ({"#spec": SPEC, "bsp/kernel.img": "A" * 64}, "bad-sha", "bsp/kernel.img"),
    ({"#spec": SPEC, "bsp/kernel.img": {"x": 1}}, "bad-sha", "bsp/kernel.img"),
    (["#spec", SPEC], "not-object", "array"),
    ("a state", "not-object", "string"),
    (None, "not-object", "null"),
]


@pytest.mark.parametrize("state, code, words", BAD_STATES)
def test_it_refuses_a_bad_state_and_stores_nothing(api, owner, device, posted, state, code, words):
    answer = posted(state)
    assert answer.status_code == 400, answer.json()
    assert answer.json()["code"] == code
    assert words in answer.json()["error"]
    assert Step.objects.filter(trail_id=device.id).count() == 1
    assert Trail.objects.get(pk=device.id).head_rev == 0


@pytest.mark.parametrize("state, code, words", BAD_STATES)
def test_it_refuses_a_bad_factory_state(api, device, state, code, words):
    answer = post_raw(api, device, "/trails/", json.dumps(state).encode())
    assert answer.status_code == 400
    assert answer.json()["code"] == code
    assert not Trail.objects.exists()


@pytest.mark.parametrize(
    "raw, words",
    [
        (b'{"#spec": "%s", "#spec": "%s"}' % (SPEC.encode(), SPEC.encode()), "twice"),
        (b'{"#spec": "%s", "a.json": NaN}' % SPEC.encode(), "NaN"),
        (b'{"#spec": "%s", "a.json": 1e999}' % SPEC.encode(), "too large"),
        (b'{"#spec": ', "not valid JSON"),
        (b"\xff\xfe", "UTF-8"),
    ],
)
def test_it_refuses_json_that_parsers_disagree_on(api, device, raw, words):
    answer = post_raw(api, device, "/trails/", raw)
    assert answer.status_code == 400
    assert answer.json()["code"] == "bad-json"
    assert words in answer.json()["error"]
    assert not Trail.objects.exists()


def test_it_refuses_a_duplicate_key_inside_a_posted_state(api, owner, device, trail_of):
    trail_of(device, {"#spec": SPEC})
    raw = b'{"rev": 1, "state": {"#spec": "%s", "x.json": 1, "x.json": 2}}' % SPEC.encode()
    answer = post_raw(api, owner, f"/trails/{device.id}/steps", raw)
    assert answer.status_code == 400
    assert "twice" in answer.json()["error"]
    assert Trail.objects.get(pk=device.id).head_rev == 0


def test_it_refuses_a_huge_body_before_parsing_it(api, owner, device, trail_of, settings):
    trail_of(device, {"#spec": SPEC})
    settings.API_MAX_BODY_BYTES = 4096
    state = {"#spec": SPEC, "big.json": "x" * 5000}
    answer = api.as_(owner).post(f"/trails/{device.id}/steps", {"state": state}, format="json")
    assert answer.status_code == 413
    assert answer.json()["code"] == "too-large"
    assert Trail.objects.get(pk=device.id).head_rev == 0


def test_it_lists_the_missing_objects(api, owner, device, trail_of, give_objects):
    trail_of(device, {"#spec": SPEC})
    have, missing_a, missing_b = "1" * 64, "2" * 64, "3" * 64
    give_objects(owner, [have])
    state = {
        "#spec": SPEC,
        "bsp/kernel.img": have,
        "bsp/modules.squashfs": missing_a,
        "app/root.squashfs": missing_b,
        "app/copy.squashfs": missing_b,
    }
    answer = api.as_(owner).post(f"/trails/{device.id}/steps", {"state": state}, format="json")
    assert answer.status_code == 409
    body = answer.json()
    assert body["code"] == "missing-objects"
    assert body["missing"] == [missing_a, missing_b]
    assert "bsp/modules.squashfs" in body["error"] and "app/copy.squashfs" in body["error"]
    assert Trail.objects.get(pk=device.id).head_rev == 0


def test_an_object_announced_but_never_uploaded_is_missing(api, owner, device, trail_of):
    """A grant (POST /objects/ answered with a signed-puturl) is not an object: only
    bytes that arrived count. Kills the mutant that drops ``.present()`` from
    missing_objects (tests.md M10), which only the S3 tests noticed before."""
    trail_of(device, {"#spec": SPEC})
    data = b"announced, never uploaded"
    body = {"objectname": "bsp/kernel.img", "size": str(len(data)), "sha256sum": sha(data)}
    assert api.as_(owner).post("/objects/", body, format="json").status_code == 200
    state = {"#spec": SPEC, "bsp/kernel.img": sha(data)}
    answer = api.as_(owner).post(f"/trails/{device.id}/steps", {"state": state}, format="json")
    assert answer.status_code == 409, answer.content
    assert answer.json()["missing"] == [sha(data)]
    assert Trail.objects.get(pk=device.id).head_rev == 0


def test_it_does_not_count_another_owners_objects(
    api, owner, outsider, device, trail_of, give_objects
):
    trail_of(device, {"#spec": SPEC})
    give_objects(outsider, [SHA_A])
    state = {"#spec": SPEC, "bsp/kernel.img": SHA_A}
    answer = api.as_(owner).post(f"/trails/{device.id}/steps", {"state": state}, format="json")
    assert answer.status_code == 409
    assert answer.json()["missing"] == [SHA_A]


def test_it_takes_a_factory_state_before_its_objects(api, device):
    answer = api.as_(device).post(
        "/trails/", {"#spec": SPEC, "bsp/kernel.img": SHA_A}, format="json"
    )
    assert answer.status_code == 200
    assert answer.json()["factory-state"]["bsp/kernel.img"] == SHA_A


def test_it_keeps_one_trail_per_device(api, device, trail_of):
    trail_of(device, {"#spec": SPEC})
    answer = api.as_(device).post("/trails/", {"#spec": SPEC}, format="json")
    assert answer.status_code == 409
    assert answer.json()["code"] == "trail-exists"
    assert Step.objects.filter(trail_id=device.id).count() == 1


def test_it_takes_factory_states_from_devices_only(api, owner):
    answer = api.as_(owner).post("/trails/", {"#spec": SPEC}, format="json")
    assert answer.status_code == 403
    assert not Trail.objects.exists()
    assert api.as_(None).post("/trails/", {"#spec": SPEC}, format="json").status_code == 401


def test_it_refuses_a_bad_meta_or_commit_message(api, owner, device, trail_of):
    trail_of(device, {"#spec": SPEC})
    path = f"/trails/{device.id}/steps"
    client = api.as_(owner)
    assert (
        client.post(path, {"state": {"#spec": SPEC}, "meta": [1]}, format="json").status_code == 400
    )
    assert (
        client.post(
            path, {"state": {"#spec": SPEC}, "commit-msg": "x" * 10_001}, format="json"
        ).status_code
        == 400
    )
    assert (
        client.post(path, {"state": {"#spec": SPEC}, "rev": "x"}, format="json").status_code == 400
    )
    assert client.post(path, {"commit-msg": "no state"}, format="json").status_code == 400
    assert Trail.objects.get(pk=device.id).head_rev == 0
