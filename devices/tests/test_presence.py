import threading
import time
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from devices import presence
from devices.models import Device
from devices.signals import devices_seen
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
    Device.objects.filter(id=device.id).update(last_seen=first - timedelta(seconds=60))
    presence.forget()  # the interval has passed
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


def test_a_device_another_process_wrote_within_the_interval_is_not_written_again(make_device):
    fresh, stale, never = make_device(nick="fresh"), make_device(nick="stale"), make_device()
    recently = timezone.now() - timedelta(seconds=5)
    Device.objects.filter(id=fresh.id).update(last_seen=recently)
    Device.objects.filter(id=stale.id).update(last_seen=recently - timedelta(minutes=5))
    moved = presence.write([fresh.id, stale.id, never.id])
    assert sorted(device.id for device in moved) == sorted([stale.id, never.id])
    assert Device.objects.get(id=fresh.id).last_seen == recently
    assert Device.objects.get(id=stale.id).last_seen > recently


def test_a_flush_that_fails_lets_its_devices_be_noted_again(device, settings, monkeypatch):
    settings.PRESENCE_FLUSH_INTERVAL = 60
    monkeypatch.setattr(presence, "_start_flusher", lambda: None)  # flushed by hand here
    presence.note(device.id)

    def broken(device_ids):
        raise RuntimeError("database away")

    monkeypatch.setattr(presence, "write", broken)
    presence.flush()  # logged, not raised
    monkeypatch.undo()
    settings.PRESENCE_FLUSH_INTERVAL = 60
    monkeypatch.setattr(presence, "_start_flusher", lambda: None)
    presence.note(device.id)  # within the interval, but the write was lost
    presence.flush()
    assert Device.objects.get(id=device.id).last_seen is not None


def test_a_process_forgets_the_devices_whose_interval_passed(make_device, settings, monkeypatch):
    """It holds the devices of the last interval, not every device it ever saw."""
    settings.PRESENCE_FLUSH_INTERVAL = 60
    monkeypatch.setattr(presence, "_start_flusher", lambda: None)  # flushed by hand here
    clock = [time.monotonic() + 10 * settings.PRESENCE_WRITE_INTERVAL]
    monkeypatch.setattr(presence, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    gone, polling = make_device(nick="gone"), make_device(nick="polling")
    presence.note(gone.id)
    presence.note(polling.id)
    presence.flush()
    clock[0] += settings.PRESENCE_WRITE_INTERVAL / 2
    presence.note(polling.id)  # within its interval: still noted, not written again
    presence.flush()
    assert set(presence._noted) == {gone.id, polling.id}
    clock[0] += settings.PRESENCE_WRITE_INTERVAL / 2
    presence.note(polling.id)  # its interval passed: noted anew
    presence.flush()
    assert set(presence._noted) == {polling.id}


@pytest.mark.django_db(transaction=True)
def test_the_flusher_thread_writes_and_announces_what_requests_noted(api, make_device, settings):
    settings.PRESENCE_FLUSH_INTERVAL = 1
    fleet = [make_device(nick=f"d{n}") for n in range(3)]
    announced = []

    def receiver(sender, devices, **kwargs):
        announced.extend(device.id for device in devices)

    devices_seen.connect(receiver)
    try:
        with CaptureQueriesContext(connection) as queries:
            for device in fleet:
                assert api.as_(device).get(f"/devices/{device.id}").status_code == 200
        assert last_seen_writes(queries.captured_queries) == []  # not in the requests
        deadline = time.monotonic() + 30
        while len(announced) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        devices_seen.disconnect(receiver)
    assert sorted(announced) == sorted(device.id for device in fleet)
    assert all(Device.objects.get(id=device.id).online for device in fleet)


@pytest.mark.parametrize(
    "seconds_before, news",
    [
        (None, True),  # never seen: it came online
        (35, False),  # seen in this half window: pages still show it online
        (55, True),  # the first write in a new half window
        (200, True),  # seen longer ago than the window: it came online again
    ],
)
def test_pages_hear_of_a_device_when_it_comes_online_and_once_per_half_window(
    settings, seconds_before, news
):
    settings.DEVICE_ONLINE_WINDOW = 120
    now = datetime.fromtimestamp(60 * 1_000_000 + 50, tz=UTC)  # 50 s into a half window
    before = None if seconds_before is None else now - timedelta(seconds=seconds_before)
    assert presence.is_news(before, now) is news


def test_a_device_written_again_within_the_half_window_is_not_announced(
    make_device, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.DEVICE_ONLINE_WINDOW, settings.PRESENCE_WRITE_INTERVAL = 120, 30
    now = datetime.fromtimestamp(60 * 1_000_000 + 50, tz=UTC)  # 50 s into a half window
    monkeypatch.setattr(presence.timezone, "now", lambda: now)
    device = make_device()
    announced = []

    def receiver(sender, devices, **kwargs):
        announced.append([d.id for d in devices])

    devices_seen.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            presence.write([device.id])  # it came online
        Device.objects.filter(id=device.id).update(last_seen=now - timedelta(seconds=31))
        with django_capture_on_commit_callbacks(execute=True):
            moved = presence.write([device.id])
    finally:
        devices_seen.disconnect(receiver)
    assert [d.id for d in moved] == [device.id]  # written again…
    assert Device.objects.get(id=device.id).last_seen == now
    assert announced == [[device.id]]  # …but announced once, when it came online


def test_the_flusher_thread_ends_when_the_interval_becomes_zero(settings, monkeypatch):
    """A thread that outlived its interval would go on touching the database (in the
    tests: after the test that started it, where no database is allowed)."""
    settings.PRESENCE_FLUSH_INTERVAL = 1
    monkeypatch.setattr(presence, "flush", lambda: None)
    presence._start_flusher()
    thread = presence._flusher[1]
    assert thread.is_alive()
    settings.PRESENCE_FLUSH_INTERVAL = 0
    thread.join(5)
    assert not thread.is_alive()


@pytest.mark.django_db(transaction=True)
def test_the_flusher_closes_its_database_connection_when_it_ends(device, settings, monkeypatch):
    """Its connection belongs to its thread: left open, it outlives the thread (and kept
    the test database from being dropped at the end of a run)."""
    if presence._flusher is not None:  # an earlier test's, ending (the interval is 0)
        presence._flusher[1].join(5)
    closed_by = []
    real_close = BaseDatabaseWrapper.close

    def close(wrapper):
        closed_by.append(threading.current_thread())
        return real_close(wrapper)

    monkeypatch.setattr(BaseDatabaseWrapper, "close", close)
    settings.PRESENCE_FLUSH_INTERVAL = 1
    presence.note(device.id)
    thread = presence._flusher[1]
    deadline = time.monotonic() + 30
    while Device.objects.get(id=device.id).last_seen is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert thread not in closed_by
    settings.PRESENCE_FLUSH_INTERVAL = 0
    thread.join(5)
    assert not thread.is_alive()
    assert thread in closed_by


def test_online_devices_are_those_seen_within_the_window(make_device, owner, settings):
    # kills: devices/querysets.py:34 "-" -> ">>" (Device.objects.online, read by the metrics)
    now = timezone.now()
    window = timedelta(seconds=settings.DEVICE_ONLINE_WINDOW)
    recent = make_device(owner, nick="recent")
    stale = make_device(owner, nick="stale")
    Device.objects.filter(id=recent.id).update(last_seen=now - window + timedelta(seconds=5))
    Device.objects.filter(id=stale.id).update(last_seen=now - window - timedelta(seconds=5))
    assert list(Device.objects.online(now).values_list("nick", flat=True)) == ["recent"]
