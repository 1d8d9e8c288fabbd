"""Settings for the subprocesses of the worker-kill test (test_worker_kill.py).

The ordinary settings, plus:

* Redis keys of the run's own (``PACKS_KILL_RUN``), so that runs never meet;
* a visibility timeout of seconds instead of an hour, so that the messages a
  killed worker had taken but not acknowledged come back quickly;
* with ``PACKS_KILL_PAUSE`` (the workers only): a pause inside each revision
  post, before its transaction commits, and another after each task, before
  its message is acknowledged — so that a kill lands in the middle of the
  propagation, in one of the two windows that matter.
"""

import os
import time

from trailhub.settings import *  # noqa: F403

RUN = os.environ["PACKS_KILL_RUN"]

CELERY_BROKER_TRANSPORT_OPTIONS = {
    "global_keyprefix": f"{RUN}:",
    "visibility_timeout": 2,
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}

PAUSE = float(os.environ.get("PACKS_KILL_PAUSE", "0"))
if PAUSE:
    from celery.signals import task_postrun
    from django.db.models.signals import post_save

    def _pause(**kwargs) -> None:
        time.sleep(PAUSE)

    post_save.connect(_pause, sender="revisions.Step", weak=False)
    task_postrun.connect(_pause, weak=False)
