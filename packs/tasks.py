"""Celery tasks for packs. They take ids, re-read the rows, and are safe to run twice.

``acks_late``: a message is acknowledged only after its task returns, so a
worker killed half-way leaves it to be delivered again; the services make the
second run a no-op for whatever the first one committed (a delivery is posted
and recorded in one transaction, under its row's lock).
"""

from __future__ import annotations

from packs import services
from portal import queue


@queue.task
def start_rollout(pack_id: str, leader_step_id: int) -> str | None:
    """Plan and start the rollout of a leader revision (nothing if it exists already)."""
    rollout = services.start_rollout(pack_id, leader_step_id)
    return rollout.id if rollout else None


@queue.task
def deliver(delivery_id: int) -> str | None:
    """Post one follower's revision, exactly once."""
    return services.deliver(delivery_id)


@queue.task
def evaluate_rollout(rollout_id: str) -> str | None:
    """Judge the rollout's running wave and move on."""
    rollout = services.evaluate(rollout_id)
    return rollout.status if rollout else None


@queue.task
def sweep_rollouts() -> int:
    """Periodic (PACK_ROLLOUT_SWEEP_INTERVAL): judge waves past their timeout and queue
    again deliveries whose task message was lost."""
    return services.sweep()
