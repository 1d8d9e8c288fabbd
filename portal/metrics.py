"""The hub's Prometheus instruments: what the request paths count as they go.

Only counters and gauges that a request (or a WebSocket) moves live here, so
that any app may import them (this module imports nothing of the project).
What the database or Redis already knows (devices online, revisions by
status, the task queue, …) is read when ``/metrics`` is scraped instead
(trailhub/metrics/collectors.py).

With several worker processes, set ``PROMETHEUS_MULTIPROC_DIR`` to an empty
folder shared by every server process of the machine, before they start:
prometheus-client then keeps each process's values in a small memory-mapped
file there, and a scrape, answered by any one worker, adds them all up
(docs/operations.md). Without it the values are this process's own, which is
right for ``make run`` (one process).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge

HTTP_REQUESTS = Counter(
    "trailhub_http_requests",
    "HTTP requests answered, by URL pattern name, method and status.",
    ["route", "method", "status"],
)
DEVICE_POLLS = Counter(
    "trailhub_device_polls",
    "Polls of a device's own trail (GET /trails/<id>/steps by the device), by what answered:"
    " memory (this process), cache (the shared cache) or database.",
    ["source"],
)
OBJECT_BYTES = Counter(
    "trailhub_object_bytes",
    "Object bytes through the hub's /local-s3/ URLs: in (verified uploads) and out"
    " (downloads, counted when answered).",
    ["direction"],
)
WEBSOCKETS = Gauge(
    "trailhub_websocket_connections",
    "WebSocket connections open now, by consumer.",
    ["consumer"],
    multiprocess_mode="livesum",
)

# Label values bound once: these run on the hottest paths.
POLLS_FROM_MEMORY = DEVICE_POLLS.labels("memory")
POLLS_FROM_CACHE = DEVICE_POLLS.labels("cache")
POLLS_FROM_DATABASE = DEVICE_POLLS.labels("database")
BYTES_IN = OBJECT_BYTES.labels("in")
BYTES_OUT = OBJECT_BYTES.labels("out")


#: The cache key of the task failure count: Celery workers are other processes,
#: often on other machines, so the count is kept where every process sees it
#: (Redis, with REDIS_URL; embedded, tasks run inline in the server process).
TASK_FAILURES_KEY = "metrics:task-failures"


def count_task_failure(**_signal) -> None:
    """Celery's ``task_failure`` signal (connected in trailhub/apps.py)."""
    from django.core.cache import cache

    cache.add(TASK_FAILURES_KEY, 0, None)
    cache.incr(TASK_FAILURES_KEY)
