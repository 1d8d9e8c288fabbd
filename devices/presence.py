"""Presence: each device's ``last_seen``, written in batches, about once per interval.

Every authenticated device request notes its device here (:func:`note`), and a
fleet polls every few seconds per device: one database write per poll would
be most of what the hub does. So each process

* notes a device at most once per ``PRESENCE_WRITE_INTERVAL``, from its own
  memory (no database, no round trip to Redis), which forgets a device once its
  interval has passed (so it holds the devices of the last interval, not every
  device the process ever saw), and
* writes the devices it noted in one statement per ``PRESENCE_FLUSH_INTERVAL``
  seconds, from a thread of its own; with an interval of 0 (the tests), at
  once, in the request that noted them.

The write moves only the devices that no process wrote within the interval,
and skips rows another process holds locked, so a device is written about once
per interval however many worker processes see it. A device it moved is
announced (``devices_seen``) after the commit when it came online, and
otherwise once per half ``DEVICE_ONLINE_WINDOW`` (:func:`is_news`): the
pages' "online" lapses on its own after a window without word. A process that stops loses
at most its last ``PRESENCE_FLUSH_INTERVAL`` of sightings: the devices' next
requests note them again.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections, connections, transaction
from django.db.models import Q
from django.utils import timezone

from devices.signals import devices_seen

log = logging.getLogger(__name__)

BATCH = 1000  # devices per statement: under SQLite's limit on parameters

_lock = threading.Lock()
_noted: dict[str, float] = {}  # device id -> when this process last noted it (monotonic)
_pending: set[str] = set()  # noted, not written yet
_flusher: tuple[int, threading.Thread] | None = None  # (process id, thread)
_swept = float("-inf")  # when _noted was last rid of devices whose interval passed


def note(device_id: str) -> None:
    """The device made a request now."""
    now = time.monotonic()
    if now - _noted.get(device_id, -1e9) < settings.PRESENCE_WRITE_INTERVAL:
        return
    _noted[device_id] = now
    if not settings.PRESENCE_FLUSH_INTERVAL:
        write([device_id])
        return
    with _lock:
        _pending.add(device_id)
        _start_flusher()


def write(device_ids: Iterable[str]) -> list:
    """Set ``last_seen`` to now on those devices that no process wrote within the interval;
    return them. Those whose pages need to hear of it are announced after the commit."""
    from devices.models import Device

    now = timezone.now()
    due = Q(last_seen__isnull=True) | Q(last_seen__lte=now - _interval())
    ids = sorted(device_ids)  # one lock order for every process
    moved, news, arrived = [], [], []
    for start in range(0, len(ids), BATCH):
        with transaction.atomic():
            rows = list(
                Device.objects.filter(due, id__in=ids[start : start + BATCH])
                .select_for_update(skip_locked=True)
                .only("id", "owner_id", "public", "last_seen")
            )
            Device.objects.filter(id__in=[device.id for device in rows]).update(last_seen=now)
        news += [device for device in rows if is_news(device.last_seen, now)]
        arrived += [device.id for device in rows if came_online(device.last_seen, now)]
        for device in rows:
            device.last_seen = now
        moved += rows
    if news:
        transaction.on_commit(
            lambda: devices_seen.send(sender=Device, devices=news, came_online=arrived)
        )
    return moved


def came_online(before, now) -> bool:
    """Whether a device seen last at ``before`` was offline until ``now``."""
    return before is None or (now - before).total_seconds() > settings.DEVICE_ONLINE_WINDOW


def is_news(before, now) -> bool:
    """Whether pages must hear that a device seen last at ``before`` is seen ``now``.

    They must when it comes online, and often enough that "online" does not lapse
    on an open page (it does after DEVICE_ONLINE_WINDOW without word): once in
    every half window, the first write in it. With writes every
    PRESENCE_WRITE_INTERVAL that is an event every minute or so instead of
    every 30 s, half the live events a fleet makes (docs/benchmarks.md, 1).
    """
    if came_online(before, now):
        return True
    half = settings.DEVICE_ONLINE_WINDOW / 2
    return int(before.timestamp() // half) != int(now.timestamp() // half)


def forget() -> None:
    """Forget what this process noted (tests: as if the interval had passed)."""
    global _swept
    with _lock:
        _swept = float("-inf")
        _noted.clear()
        _pending.clear()


def _interval() -> timedelta:
    return timedelta(seconds=settings.PRESENCE_WRITE_INTERVAL)


def _start_flusher() -> None:
    """Start this process's flusher thread unless it runs (called with ``_lock`` held)."""
    global _flusher
    if _flusher is not None and _flusher[0] == os.getpid() and _flusher[1].is_alive():
        return
    thread = threading.Thread(target=_flush_forever, name="presence-flusher", daemon=True)
    _flusher = (os.getpid(), thread)
    thread.start()


def _flush_forever() -> None:
    """Flush every interval; end when the interval becomes 0 (from then on each request
    writes what it notes), after a last flush."""
    while interval := settings.PRESENCE_FLUSH_INTERVAL:
        time.sleep(interval)
        if not settings.PRESENCE_FLUSH_INTERVAL:
            break
        try:
            close_old_connections()  # this thread's own; kept while CONN_MAX_AGE allows
        except Exception:
            log.exception("could not check the presence flusher's database connection")
        flush()
    flush()
    connections.close_all()  # this thread's; a dead thread's would stay open


def forget_passed(now: float) -> None:
    """Forget the devices noted an interval or more ago (at most once per interval):
    :func:`note` takes them for never noted anyway, and kept, they would make the
    memory hold every device the process ever saw (docs/benchmarks.md, memory)."""
    global _swept
    interval = settings.PRESENCE_WRITE_INTERVAL
    if now - _swept < interval:
        return
    _swept = now
    for device_id, when in list(_noted.items()):
        # A request that notes the device meanwhile may lose its entry: then the
        # device is noted again at its next request, and write() skips it.
        if now - when >= interval:
            _noted.pop(device_id, None)


def flush() -> None:
    """Write what this process noted since the last flush (and forget what has passed)."""
    global _pending
    forget_passed(time.monotonic())
    with _lock:
        batch, _pending = _pending, set()
    if not batch:
        return
    try:
        write(batch)
    except Exception:
        # Presence must outlive a database hiccup: forgotten here, the devices
        # are noted again at their next request.
        log.exception("could not write the presence of %d devices", len(batch))
        with _lock:
            for device_id in batch:
                _noted.pop(device_id, None)
