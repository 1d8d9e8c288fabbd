"""Settings for the processes that test_run.py and test_worker_heartbeat.py start.

The ordinary settings, with the broker's keys under ``REDIS_PREFIX`` too (the
cache and the channel layer already use it), so that tests running in
parallel on one Redis database never take each other's tasks.
"""

import os

from trailhub.settings import *  # noqa: F403
from trailhub.settings import CELERY_BROKER_TRANSPORT_OPTIONS

CELERY_BROKER_TRANSPORT_OPTIONS = {
    **CELERY_BROKER_TRANSPORT_OPTIONS,
    "global_keyprefix": f"{os.environ['REDIS_PREFIX']}:",
}
