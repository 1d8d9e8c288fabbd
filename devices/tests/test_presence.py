from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from devices.models import Device
from devices.tests.conftest import device_token

pytestmark = pytest.mark.django_db


def last_seen_writes(queries) -> list[str]:
    return [
        q["sql"]
        for q in queries
        if q["sql"].startswith("UPDATE")
        and "devices_device" in q["sql"]
        and "last_seen" in q["sql"]
    ]


def test_many_device_requests_in_one_interval_write_last_seen_once(api, device):
    api.as_(device)
    with CaptureQueriesContext(connection) as queries:
        for _ in range(5):
            assert api.get(f"/devices/{device.id}").status_code == 200
            assert api.get(f"/devices/{device.id}/user-meta").status_code == 200
    assert len(last_seen_writes(queries.captured_queries)) == 1
    assert Device.objects.get(id=device.id).last_seen is not None


def test_the_next_interval_writes_again(api, device):
    api.as_(device)
    api.get(f"/devices/{device.id}")
    first = Device.objects.get(id=device.id).last_seen
    cache.delete(f"seen:{device.id}")  # the interval has passed
    with CaptureQueriesContext(connection) as queries:
        api.get(f"/devices/{device.id}")
    assert len(last_seen_writes(queries.captured_queries)) == 1
    assert Device.objects.get(id=device.id).last_seen > first


def test_people_reading_a_device_do_not_mark_it_seen(api, owner, device):
    api.as_(owner).get(f"/devices/{device.id}")
    assert Device.objects.get(id=device.id).last_seen is None


def test_logging_in_marks_the_device_seen(api, device):
    device_token(api, device.prn, device.secret)
    assert Device.objects.get(id=device.id).last_seen is not None


def test_online_is_derived_from_last_seen_in_api_answers(api, owner, device, settings):
    api.as_(owner)
    assert api.get(f"/devices/{device.id}").json()["online"] is False
    seen = timezone.now() - timedelta(seconds=settings.DEVICE_ONLINE_WINDOW - 5)
    Device.objects.filter(id=device.id).update(last_seen=seen)
    body = api.get(f"/devices/{device.id}").json()
    assert body["online"] is True
    assert body["last-seen"].startswith(seen.strftime("%Y-%m-%dT%H:%M:%S"))
    stale = timezone.now() - timedelta(seconds=settings.DEVICE_ONLINE_WINDOW + 5)
    Device.objects.filter(id=device.id).update(last_seen=stale)
    assert api.get("/devices/").json()[0]["online"] is False


def test_a_device_request_makes_it_online(api, owner, device):
    api.as_(device).get(f"/devices/{device.id}")
    assert api.as_(owner).get(f"/devices/{device.id}").json()["online"] is True
