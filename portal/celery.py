"""The Celery application. Without a broker (the embedded default) tasks run eagerly."""

import os

from celery import Celery

from portal.workers import Heartbeat

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("trailhub")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Every worker announces itself, so that the hub can say when none runs.
app.steps["consumer"].add(Heartbeat)
