"""Celery tasks for webhooks. They take ids, re-read the rows, and are safe to run twice."""

from __future__ import annotations

import logging

from portal import queue
from webhooks import services

log = logging.getLogger(__name__)


@queue.task
def deliver(delivery_id: str, attempt: int = 1) -> None:
    """Make one attempt at a delivery; after a failure, queue the next one with its wait.
    The next is never lost for good: the sweep queues a late one again.

    Without a broker (the embedded default) this runs inside the request whose change
    caused the event, and a countdown would not wait: the next attempt is left to the
    sweep instead of being made at once, in that request."""
    wait = services.attempt(delivery_id, attempt)
    if wait is not None and not deliver.app.conf.task_always_eager:
        try:
            deliver.apply_async((delivery_id, attempt + 1), countdown=wait)
        except Exception:
            log.error(
                "could not queue attempt %d at webhook delivery %s; the sweep will",
                attempt + 1,
                delivery_id,
                exc_info=True,
            )


@queue.task
def sweep_webhooks() -> int:
    """Periodic (WEBHOOK_SWEEP_INTERVAL): devices gone offline, deliveries late for a retry."""
    return services.sweep()
