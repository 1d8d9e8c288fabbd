"""Django's WSGI handler alone, without trailhub/fastpoll.py in front (bench/poll.py --app django)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trailhub.settings")
application = get_wsgi_application()

from trailhub.warm import warm  # noqa: E402

warm()
