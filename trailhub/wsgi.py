"""WSGI entry point, for running the HTTP API under a WSGI server (e.g. gunicorn).

Django's handler, with an unchanged device poll answered in front of it
(trailhub/fastpoll.py)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trailhub.settings")
application = get_wsgi_application()

from trailhub.fastpoll import FastPoll  # noqa: E402
from trailhub.warm import warm  # noqa: E402

application = FastPoll(application)

warm()
