"""Celery workers announce themselves, so that the hub can tell when none runs.

With a broker configured, pack rollouts, log trimming and garbage collection
happen only in a Celery worker; if none runs, nothing fails — the work just
waits in the queue, silently. So every worker writes a heartbeat (the time
and its name) to the cache every ``WORKER_HEARTBEAT_INTERVAL`` seconds while
it consumes tasks (``Heartbeat``, a consumer bootstep added in
trailhub/celery.py), and the dashboard, the pack pages, the admin, ``/readyz``
and ``manage.py check --deploy`` read it back: one cache read. A heartbeat
older than ``WORKER_HEARTBEAT_TIMEOUT`` means no worker is running.

Without a broker (the embedded default) tasks run inline and no worker is
expected: nothing is ever reported then.
"""

from __future__ import annotations

import logging
import time

from celery import bootsteps
from django.conf import settings
from django.core.cache import cache

log = logging.getLogger(__name__)

HEARTBEAT_KEY = "workers:heartbeat"
# Kept long past WORKER_HEARTBEAT_TIMEOUT, so that /readyz can say how long ago
# the last worker was seen rather than only that none was.
HEARTBEAT_KEPT = 7 * 24 * 3600
MISSING = "no task worker is running: packs will not propagate — start one with `make worker`"


def expected() -> bool:
    """True when tasks go to a broker (and so need a worker), False when they run inline."""
    from trailhub.celery import app

    return not app.conf.task_always_eager


def beat(hostname: str) -> None:
    """Note that the worker ``hostname`` is alive now (called from the worker)."""
    try:
        cache.set(HEARTBEAT_KEY, {"at": time.time(), "hostname": hostname}, HEARTBEAT_KEPT)
    except Exception:  # the cache is away: the next beat tries again, the worker goes on
        log.warning("could not write the worker heartbeat", exc_info=True)


def last_heartbeat() -> dict | None:
    """The newest heartbeat, ``{"at": epoch seconds, "hostname": …}``, or None."""
    return cache.get(HEARTBEAT_KEY)


def problem(heartbeat: dict | None) -> str | None:
    """What is wrong with ``heartbeat`` (None when it is fresh enough)."""
    if heartbeat is None:
        return "no task worker has ever sent a heartbeat"
    age = time.time() - heartbeat["at"]
    if age > settings.WORKER_HEARTBEAT_TIMEOUT:
        return f"the last heartbeat came {age:.0f} s ago from {heartbeat['hostname']}"
    return None


def missing() -> bool:
    """True when a worker is needed and none has been seen lately (for the pages)."""
    if not expected():
        return False
    try:
        heartbeat = last_heartbeat()
    except Exception:  # the cache (Redis, also the broker) is away: nothing propagates either
        log.warning("could not read the worker heartbeat", exc_info=True)
        return True
    return problem(heartbeat) is not None


class Heartbeat(bootsteps.StartStopStep):
    """A consumer bootstep: beat at once, then every WORKER_HEARTBEAT_INTERVAL seconds.

    It runs in the worker's main process on the consumer's timer, and only
    while the consumer runs: a worker that lost its broker stops beating.
    """

    requires = {"celery.worker.consumer.tasks:Tasks"}

    def __init__(self, parent, **kwargs) -> None:
        super().__init__(parent, **kwargs)
        self.timer_entry = None

    def start(self, consumer) -> None:
        beat(consumer.hostname)
        self.timer_entry = consumer.timer.call_repeatedly(
            settings.WORKER_HEARTBEAT_INTERVAL, beat, (consumer.hostname,)
        )

    def stop(self, consumer) -> None:
        if self.timer_entry is not None:
            self.timer_entry.cancel()
            self.timer_entry = None

    shutdown = stop
