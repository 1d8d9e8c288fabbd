"""The Trailhub project package: settings, URLs, ASGI and WSGI, Celery, the project's pages."""

from trailhub.celery import app as celery_app

__all__ = ["celery_app"]
