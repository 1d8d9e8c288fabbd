"""Exports: a revision as a streamed .tar.gz of json and objects/."""

from __future__ import annotations

import hashlib
import io
import tarfile

import pytest

from revisions import services
from revisions.storage import base as storage_base
from revisions.storage.filesystem import FileSystemStore
from revisions.tests.conftest import random_bytes, sha
from trail.state import load_state, state_sha

SPEC = "pantavisor-service-system@1"


@pytest.fixture
def revision(owner, device, trail_of, upload):
    kernel, rootfs = random_bytes(3000), random_bytes(70_000)
    upload(owner, kernel)
    upload(owner, rootfs)
    trail = trail_of(device, {"#spec": SPEC})
    state = {
        "#spec": SPEC,
        "bsp/kernel.img": sha(kernel),
        "app/root.squashfs": sha(rootfs),
        "app/again.squashfs": sha(rootfs),
        "app/run.json": {"name": "app", "ratio": 0.25},
    }
    step = services.post_step(trail, state)
    return step, {sha(kernel): kernel, sha(rootfs): rootfs}


def export(api, subject, rev: int = 1, name: str = "kiosk.tar.gz", owner="alice", nick="kiosk"):
    return api.as_(subject).get(f"/exports/{owner}/{nick}/{rev}/{name}")


def untar(response) -> dict[str, bytes]:
    raw = b"".join(response.streaming_content)
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers()}


def test_it_exports_json_and_objects(api, owner, revision):
    step, objects = revision
    answer = export(api, owner)
    assert answer.status_code == 200
    assert answer["Content-Type"] == "application/gzip"
    assert 'filename="kiosk.tar.gz"' in answer["Content-Disposition"]
    members = untar(answer)
    assert set(members) == {"json", *(f"objects/{s}" for s in objects)}
    assert state_sha(load_state(members["json"])) == step.state_sha
    assert hashlib.sha256(members["json"]).hexdigest() == step.state_sha
    for value, data in objects.items():
        assert members[f"objects/{value}"] == data


def test_it_streams_large_objects_a_chunk_at_a_time(
    api, owner, device, trail_of, upload, monkeypatch
):
    big = random_bytes(20 * 1024 * 1024)
    upload(owner, big)
    trail_of(device, {"#spec": SPEC, "bsp/rootfs.img": sha(big)})
    chunk = 64 * 1024
    monkeypatch.setattr(storage_base, "CHUNK_SIZE", chunk)
    reads: list[int] = []
    opened = FileSystemStore.open

    def spying_open(self, value):
        stream = opened(self, value)
        read = stream.read

        def spy(n=-1):
            reads.append(n)
            return read(n)

        stream.read = spy
        return stream

    monkeypatch.setattr(FileSystemStore, "open", spying_open)
    answer = export(api, owner, rev=0)
    pieces = list(answer.streaming_content)
    assert reads and max(reads) == chunk and min(reads) > 0  # never read(-1): never whole
    assert len(pieces) > 10
    assert max(len(piece) for piece in pieces) < 2 * 1024 * 1024
    with tarfile.open(fileobj=io.BytesIO(b"".join(pieces)), mode="r:gz") as tar:
        member = tar.getmember(f"objects/{sha(big)}")
        assert member.size == len(big)
        assert hashlib.sha256(tar.extractfile(member).read()).hexdigest() == sha(big)


def test_it_exports_a_public_revision_to_anyone(api, device, revision):
    """Whole: the state and every object's bytes, as the owner gets them."""
    step, objects = revision
    device.public = True
    device.save()
    answer = export(api, None)
    assert answer.status_code == 200
    members = untar(answer)
    assert state_sha(load_state(members["json"])) == step.state_sha
    assert {name: data for name, data in members.items() if name != "json"} == {
        f"objects/{value}": data for value, data in objects.items()
    }


def test_it_hides_a_private_revision(api, outsider, make_device, revision):
    assert export(api, None).status_code == 404
    assert export(api, outsider).status_code == 404
    assert export(api, make_device(outsider, nick="spy")).status_code == 404


def test_it_lets_the_device_export_its_own_revision(api, device, revision):
    assert export(api, device).status_code == 200


def test_it_refuses_an_export_with_missing_objects(api, owner, device, trail_of):
    trail_of(device, {"#spec": SPEC, "bsp/kernel.img": "d" * 64})
    answer = export(api, owner, rev=0)
    assert answer.status_code == 409
    assert answer.json()["missing"] == ["d" * 64]


@pytest.mark.parametrize(
    "kwargs",
    [{"name": "kiosk.zip"}, {"rev": 7}, {"rev": "x"}, {"nick": "nope"}, {"owner": "nobody"}],
)
def test_it_answers_404_for_what_does_not_exist(api, owner, revision, kwargs):
    answer = export(api, owner, **kwargs)
    assert answer.status_code == 404
    assert answer.json()["code"] == "not_found"
