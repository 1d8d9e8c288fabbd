"""Every route, and ``/boom/``: a bug, as a server error comes (trailhub/tests/log_settings.py)."""

from django.urls import path

from trailhub.urls import urlpatterns as routes


def boom(request):
    raise RuntimeError("a bug")


urlpatterns = [*routes, path("boom/", boom)]
