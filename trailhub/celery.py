"""The Celery application. Without a broker (the embedded default) tasks run eagerly."""

import logging.config
import os

from celery import Celery, signals

from trailhub.workers import Heartbeat

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trailhub.settings")

app = Celery("trailhub")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Every worker announces itself, so that the hub can say when none runs.
app.steps["consumer"].add(Heartbeat)


@signals.setup_logging.connect
def _log_as_the_server_does(**kwargs) -> None:
    """Workers and beat log through LOGGING (trailhub/settings.py), as the web server
    does: LOG_LEVEL and LOG_FORMAT hold for them too. Celery would otherwise put
    its own handler and format on the root logger, and ``--loglevel`` is ignored."""
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
