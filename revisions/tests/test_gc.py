"""Garbage collection: unreferenced objects past the grace period go, rows and bytes."""

from __future__ import annotations

import datetime as dt
import os
import time

import pytest
from django.utils import timezone

from revisions import gc, services
from revisions.models import Blob, OwnerObject
from revisions.tasks import collect_garbage
from revisions.tests.conftest import random_bytes, sha

SPEC = "pantavisor-service-system@1"


def age(data: bytes, seconds: int) -> None:
    """Make ``data``'s blob and every owner's row look ``seconds`` old."""
    then = timezone.now() - dt.timedelta(seconds=seconds)
    Blob.objects.filter(sha256=sha(data)).update(time_created=then)
    OwnerObject.objects.filter(sha256=sha(data)).update(time_modified=then)


def stored(objects_dir, data: bytes) -> bool:
    return (objects_dir / sha(data)[:2] / sha(data)).exists()


@pytest.fixture
def old(settings):
    """Seconds past the grace period."""
    return settings.OBJECTS_GC_GRACE + 60


def test_it_collects_an_unreferenced_old_object(owner, outsider, upload, objects_dir, old):
    data = random_bytes(100)
    upload(owner, data)
    upload(outsider, data)
    age(data, old)
    assert collect_garbage.apply().get() == 1
    assert not Blob.objects.exists()
    assert not OwnerObject.objects.exists()
    assert not stored(objects_dir, data)


def test_it_is_safe_to_run_twice(owner, upload, objects_dir, old):
    data = random_bytes(100)
    upload(owner, data)
    age(data, old)
    assert gc.collect(sha(data), gc.cutoff()) is True
    assert gc.collect(sha(data), gc.cutoff()) is False
    collect_garbage.apply()
    assert not stored(objects_dir, data)


def test_it_keeps_what_a_revision_names(owner, device, trail_of, upload, objects_dir, old):
    data = random_bytes(100)
    upload(owner, data)
    trail = trail_of(device, {"#spec": SPEC})
    services.post_step(trail, {"#spec": SPEC, "k.img": sha(data)})
    age(data, old)
    collect_garbage.apply()
    assert gc.collect(sha(data), gc.cutoff()) is False
    assert stored(objects_dir, data)
    assert OwnerObject.objects.get(owner=owner).kind == "object"


def test_it_keeps_a_young_object(owner, upload, objects_dir, settings):
    data = random_bytes(100)
    upload(owner, data)
    age(data, settings.OBJECTS_GC_GRACE - 60)
    collect_garbage.apply()
    assert stored(objects_dir, data) and Blob.objects.exists()


def test_it_keeps_an_object_with_a_fresh_upload_grant(
    api, owner, outsider, upload, objects_dir, old
):
    data = random_bytes(100)
    upload(owner, data)
    age(data, old)
    body = {"objectname": "x", "size": "100", "sha256sum": sha(data)}
    grant = api.as_(outsider).post("/objects/", body, format="json")  # a new uploader, now
    assert grant.status_code == 200
    collect_garbage.apply()
    assert stored(objects_dir, data)
    put = api.generic("PUT", grant.json()["signed-puturl"], data, "application/octet-stream")
    assert put.status_code == 200
    assert OwnerObject.objects.get(owner=outsider).kind == "object"


def test_it_expires_old_grants_and_unfinished_uploads(owner, objects_dir, old):
    services.request_upload(owner, "f" * 64, 10)
    OwnerObject.objects.update(time_modified=timezone.now() - dt.timedelta(seconds=old))
    tmp = objects_dir / "tmp"
    tmp.mkdir(parents=True)
    stale, fresh = tmp / "stale-upload", tmp / "fresh-upload"
    stale.write_bytes(b"half")
    fresh.write_bytes(b"half")
    then = time.time() - old
    os.utime(stale, (then, then))
    collect_garbage.apply()
    assert not OwnerObject.objects.exists()
    assert not stale.exists() and fresh.exists()


def test_it_lets_a_collected_sha_be_uploaded_again(api, owner, upload, objects_dir, old):
    data = random_bytes(100)
    upload(owner, data)
    age(data, old)
    collect_garbage.apply()
    upload(owner, data)
    assert stored(objects_dir, data)
    assert OwnerObject.objects.get(owner=owner).kind == "object"


def test_it_is_scheduled_periodically(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["revisions.collect-garbage"]
    assert entry == {
        "task": "revisions.tasks.collect_garbage",
        "schedule": settings.OBJECTS_GC_INTERVAL,
    }
