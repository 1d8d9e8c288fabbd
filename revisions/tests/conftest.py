"""Fixtures for the revisions tests: a private objects folder, states, uploads."""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from revisions.models import Blob, OwnerObject
from testsupport.live import create_bucket
from testsupport.testdata import read_state


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


# --- A real S3 API (OpenStack Swift with s3api) --------------------------------

SWIFT_SCRIPT = Path(__file__).resolve().parent / "swift_s3.sh"
SWIFT_BINARIES = ("swift-proxy-server", "swift-object-server", "swift-ring-builder", "memcached")


def _free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@pytest.fixture(scope="session")
def swift_s3(tmp_path_factory):
    """Start Swift with s3api on free loopback ports for this test session; stop it after.

    The packages come from .ci/system-packages.sh; without them this fails
    (it never skips): the S3 tests must run.
    """
    missing = [name for name in SWIFT_BINARIES if shutil.which(name) is None]
    if missing:
        pytest.fail(
            f"the S3 tests need OpenStack Swift; missing {', '.join(missing)}:"
            " run .ci/system-packages.sh (Debian packages swift-proxy, swift-object, …)"
        )
    proxy, obj, container, account, memcached = _free_ports(5)
    folder = tmp_path_factory.mktemp("swift")
    env = {
        **os.environ,
        "SWIFT_S3_DIR": str(folder),
        "SWIFT_S3_PORT": str(proxy),
        "SWIFT_S3_OBJECT_PORT": str(obj),
        "SWIFT_S3_CONTAINER_PORT": str(container),
        "SWIFT_S3_ACCOUNT_PORT": str(account),
        "SWIFT_S3_MEMCACHED_PORT": str(memcached),
    }
    started = subprocess.run(
        [str(SWIFT_SCRIPT), "start"], env=env, capture_output=True, text=True, timeout=180
    )
    try:
        if started.returncode != 0:
            pytest.fail(f"Swift did not start:\n{started.stdout}\n{started.stderr}")
        yield {
            "endpoint_url": f"http://127.0.0.1:{proxy}",
            "access_key": "test:tester",
            "secret_key": "testing",
            "region_name": "us-east-1",
        }
    finally:
        subprocess.run([str(SWIFT_SCRIPT), "stop"], env=env, timeout=60, check=False)


@pytest.fixture
def s3_objects(swift_s3, settings):
    """Objects in a fresh bucket of the test's Swift; returns the store."""
    import boto3
    from botocore.config import Config

    from revisions.storage import get_store

    bucket = f"trailhub-{secrets.token_hex(6)}"
    client = boto3.client(
        "s3",
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        **{
            "endpoint_url": swift_s3["endpoint_url"],
            "aws_access_key_id": swift_s3["access_key"],
            "aws_secret_access_key": swift_s3["secret_key"],
            "region_name": swift_s3["region_name"],
        },
    )
    create_bucket(client, bucket)
    settings.STORAGES = {
        **settings.STORAGES,
        "objects": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": bucket,
                **swift_s3,
                "addressing_style": "path",
                "signature_version": "s3v4",
                "querystring_expire": settings.OBJECTS_URL_TTL,
                "file_overwrite": True,
                "default_acl": None,
            },
        },
    }
    store = get_store()
    store.test_client = client
    return store


def run_in_threads(target, argument_lists) -> list:
    """Run ``target(*args)`` for each args at once, each in a thread with its own
    database connection; return the results in order, re-raising the first error."""
    import threading

    from django.db import connection

    barrier = threading.Barrier(len(argument_lists))
    results: list = [None] * len(argument_lists)
    errors: list[BaseException] = []

    def run(index: int, args) -> None:
        try:
            barrier.wait()
            results[index] = target(*args)
        except BaseException as exc:  # collected and raised in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(argument_lists)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results
