"""Celery tasks for the community. They take ids, re-read the rows, and are safe to run twice."""

from __future__ import annotations

from community.services import upstream
from portal import queue


@queue.task
def follow_upstream(device_id: str, rev: int) -> int | None:
    """Merge upstream revision ``rev`` into a device that follows its upstream."""
    step = upstream.catch_up(device_id, rev)
    return step.rev if step is not None else None
