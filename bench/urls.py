"""Trailhub's URLs and ``/__trivial__/``: a Django view through the same middleware
that answers what an idle device's poll answers (an empty JSON list)."""

from django.http import JsonResponse
from django.urls import include, path


def trivial(request):
    return JsonResponse([], safe=False)


urlpatterns = [path("__trivial__/", trivial), path("", include("trailhub.urls"))]
