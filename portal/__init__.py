"""The Trailhub project package: settings, URLs, ASGI, Celery, accounts and API auth."""

from portal.celery import app as celery_app

__all__ = ["celery_app"]
