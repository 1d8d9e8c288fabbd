"""What ``/metrics`` reads at scrape time: one cheap query (or Redis call) per metric.

These are facts the database or Redis already holds, so they are exact
whichever worker answers the scrape, and need nothing kept in the processes.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import math
import time

import redis
from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Q
from django.utils import timezone
from kombu.transport.redis import PRIORITY_STEPS, Channel
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from devices.models import Device
from packs import rollout as ro
from packs.models import Delivery, Rollout
from portal.metrics import TASK_FAILURES_KEY
from revisions.models import Step
from trail import status as st
from trailhub import workers

log = logging.getLogger(__name__)

#: Step statuses whose delivery is still waiting for its device.
WAITING_STATUSES = [s for s, outcome in ro.OUTCOME_OF_STATUS.items() if outcome == ro.WAITING]


def _by_status(queryset, names, name: str, documentation: str) -> GaugeMetricFamily:
    """A gauge per status, every known status present (0 when none)."""
    counts = dict.fromkeys(names, 0)
    for row in queryset.values("status").annotate(n=Count("*")).order_by():
        counts[row["status"]] = row["n"]
    family = GaugeMetricFamily(name, documentation, labels=["status"])
    for status, n in counts.items():
        family.add_metric([status], n)
    return family


def overdue_deliveries(now: dt.datetime | None = None) -> int:
    """Followers of a running or paused rollout still waiting for their revision after
    their wave's timeout: not posted yet, or posted and not installed.

    Two queries: the active rollouts' few distinct timeouts, then the count (no
    portable SQL adds a column's seconds to a time).
    """
    now = now or timezone.now()
    timeouts = Rollout.objects.active().values_list("wave_timeout", flat=True).distinct()
    late = Q()
    for timeout in timeouts:
        late |= Q(
            rollout__wave_timeout=timeout,
            wave__time_started__lt=now - dt.timedelta(seconds=timeout),
        )
    if not late:
        return 0
    waiting = Q(status=ro.D_PENDING) | Q(
        status__in=(ro.D_POSTED, ro.D_CURRENT), step__status__in=WAITING_STATUSES
    )
    return Delivery.objects.filter(waiting, late, rollout__status__in=ro.ACTIVE).count()


@functools.cache
def _broker(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def queue_length() -> int | None:
    """Messages waiting in the Celery queue (every priority), or None without a Redis broker."""
    url = settings.CELERY_BROKER_URL
    if not url or not url.startswith(("redis://", "rediss://", "unix://")):
        return None
    name = settings.CELERY_TASK_DEFAULT_QUEUE
    pipe = _broker(url).pipeline(transaction=False)
    for priority in PRIORITY_STEPS:  # kombu keeps one list per priority
        pipe.llen(f"{name}{Channel.sep}{priority}" if priority else name)
    return sum(pipe.execute())


class HubCollector:
    """The gauges read from the database and Redis when scraped."""

    def collect(self):
        now = timezone.now()
        yield GaugeMetricFamily(
            "trailhub_devices_online",
            "Devices seen within DEVICE_ONLINE_WINDOW.",
            value=Device.objects.online(now).count(),
        )
        yield _by_status(
            Step.objects.all(), st.STATUSES, "trailhub_revisions", "Revisions by progress status."
        )
        yield _by_status(
            Rollout.objects.all(), ro.ROLLOUT_STATUSES, "trailhub_rollouts", "Rollouts by status."
        )
        yield GaugeMetricFamily(
            "trailhub_pack_deliveries_overdue",
            "Followers of a running or paused rollout still waiting for their revision"
            " after their wave's timeout.",
            value=overdue_deliveries(now),
        )
        try:
            failures, length = cache.get(TASK_FAILURES_KEY, 0), queue_length()
            heartbeat = workers.last_heartbeat() if workers.expected() else None
        except redis.RedisError:  # the database's metrics still go out
            log.warning("could not read the task metrics from Redis", exc_info=True)
        else:
            if workers.expected():
                # +Inf when no worker ever beat: "older than any timeout".
                age = time.time() - heartbeat["at"] if heartbeat else math.inf
                yield GaugeMetricFamily(
                    "trailhub_worker_heartbeat_age_seconds",
                    "Seconds since a Celery worker last wrote its heartbeat (trailhub/workers.py);"
                    " only with a broker.",
                    value=max(age, 0.0),
                )
            yield CounterMetricFamily(
                "trailhub_task_failures",
                "Celery tasks that raised (task_failure), on every worker.",
                value=failures,
            )
            if length is not None:
                yield GaugeMetricFamily(
                    "trailhub_task_queue_length",
                    "Tasks waiting in the Celery queue for a worker.",
                    value=length,
                )
