"""Queueing Celery tasks: after the commit that made their work, and never silently.

A task is queued once the transaction that made its rows has committed (so
the worker finds them). Queueing can still fail then — the broker is away,
or, embedded, the eager task itself fails. The request that did the work
has already saved it, so it must not fail; instead the failure is logged as
an error naming the task and its arguments, and each task that matters has
a periodic sweep on the beat schedule that finds the work still to do and
queues it again (packs: ``sweep_rollouts``; logs: ``trim_all_logs``;
objects: ``collect_garbage``).
"""

from __future__ import annotations

import functools
import logging

from celery import shared_task
from django.db import transaction

from portal import audit, metrics

log = logging.getLogger(__name__)


def task(function):
    """Declare a Celery task the way every task here is declared: acknowledged only
    once it has run, and given back to the queue if its worker dies (so it must be
    safe to run twice: tasks take ids and re-read the rows); no result kept. The
    queue is CELERY_TASK_DEFAULT_QUEUE ("trailhub"). What it changes, the audit log
    records as the system's, named after the task (even run eagerly in a request)."""
    name = f"{function.__module__}.{function.__name__}"

    @functools.wraps(function)
    def run(*args, **kwargs):
        with audit.as_system(name):
            return function(*args, **kwargs)

    return shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)(run)


def enqueue(job, *args) -> bool:
    """Queue ``job(*args)`` now (run inline when Celery is eager); False if that failed."""
    try:
        job.delay(*args)
    except Exception:
        if job.app.conf.task_always_eager:
            # The task itself failed; an eager task that propagates its error does so
            # before Celery sends task_failure, which counts a worker's failures.
            metrics.count_task_failure()
        log.error(
            "could not queue %s%r; the periodic sweep will pick the work up again",
            job.name,
            args,
            exc_info=True,
        )
        return False
    return True


def enqueue_on_commit(job, *args) -> None:
    """Queue ``job(*args)`` once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: enqueue(job, *args))
