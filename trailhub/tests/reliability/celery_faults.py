"""The project's Celery app, for a worker that test_faults.py kills in the middle of a task.

``FAULT_HANG_AT`` says where the first task run stops dead, waiting to be
killed: ``transaction`` (inside the task's transaction, once it has written a
revision) or ``ack`` (after the task returned and committed, before the
message is acknowledged). ``FAULT_MARKER`` gets the pid of the process that
hangs, so that the test knows whom to kill; later runs see it and do not hang.
Each finished run appends its task name to ``FAULT_RUNS``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from celery.signals import task_postrun
from django.db.models.signals import post_save

from trailhub.celery import app

QUEUE = os.environ["FAULT_QUEUE"]
HANG_AT = os.environ.get("FAULT_HANG_AT", "")
MARKER = Path(os.environ["FAULT_MARKER"])
RUNS = Path(os.environ["FAULT_RUNS"])

# Everything this worker sends stays on the test's own queue; a message whose
# worker died is given to another one after a second, not the default hour.
app.conf.task_default_queue = QUEUE
app.conf.broker_transport_options = {
    "visibility_timeout": 1,
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}


def _hang_once() -> None:
    if MARKER.exists():
        return
    MARKER.write_text(str(os.getpid()))
    while True:
        time.sleep(1)


def _revision_written(sender, created, **kwargs) -> None:
    if created and HANG_AT == "transaction":
        _hang_once()


post_save.connect(_revision_written, sender="revisions.Step", weak=False)


@task_postrun.connect(weak=False)
def _finished(sender=None, **kwargs) -> None:
    with RUNS.open("a") as runs:
        runs.write(f"{sender.name}\n")
    if HANG_AT == "ack":
        _hang_once()
