"""Fixtures for the revisions tests: a private objects folder, states, uploads."""

from __future__ import annotations

import hashlib
import secrets

import pytest

from revisions.models import Blob, OwnerObject
from trail.tests.testdata import read_state


@pytest.fixture(autouse=True)
def objects_dir(settings, tmp_path):
    """Every test gets its own filesystem objects store."""
    path = tmp_path / "objects"
    settings.OBJECTS_DIR = path
    settings.STORAGES = {
        **settings.STORAGES,
        "objects": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": path},
        },
    }
    return path


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def state_with(objects: dict[str, bytes], spec: str = "pantavisor-service-system@1") -> dict:
    """A small valid state naming ``objects`` (key -> bytes)."""
    state = {"#spec": spec, "bsp/run.json": {"addons": [], "initrd": "pantavisor"}}
    state.update({key: sha(data) for key, data in objects.items()})
    return state


@pytest.fixture
def give_objects():
    """``give_objects(owner, shas)``: mark shas as the owner's, stored (no bytes needed)."""

    def give(owner, shas, size: int = 1):
        for value in shas:
            Blob.objects.get_or_create(sha256=value, defaults={"size": size})
            OwnerObject.objects.update_or_create(
                owner=owner, sha256=value, defaults={"kind": "object", "size": size}
            )

    return give


@pytest.fixture
def upload(api):
    """``upload(subject, data)``: announce and PUT ``data`` through the API as ``subject``."""

    def do(subject, data: bytes, name: str = "") -> dict:
        body = {"objectname": name or "blob", "size": str(len(data)), "sha256sum": sha(data)}
        answer = api.as_(subject).post("/objects/", body, format="json")
        if answer.status_code == 409:
            return answer.json()
        assert answer.status_code == 200, answer.json()
        put = api.generic("PUT", answer.json()["signed-puturl"], data, "application/octet-stream")
        assert put.status_code == 200, put.content
        return answer.json()

    return do


@pytest.fixture
def trail_of(give_objects):
    """``trail_of(device, state=None)``: the device's trail with a factory revision 0."""
    from revisions import services

    def make(device, state=None):
        state = state or read_state("awconnect.json")
        trail = services.create_trail(device, state)
        trail.device = device
        return trail

    return make


def random_bytes(n: int = 64) -> bytes:
    return secrets.token_bytes(n)
