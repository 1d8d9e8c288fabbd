"""The Celery application. Without a broker (the embedded default) tasks run eagerly."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("trailhub")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
