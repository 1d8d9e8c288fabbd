"""``/devices/<id>/star`` and ``/devices/<id>/stargazers``: stars over the API.

A person stars a device they can see (``Device.objects.visible_to``, as the
star button of the device page); starring twice or unstarring a device without
a star changes nothing.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from community import services
from community.api.explore import REF
from community.api.listing import (
    LIMIT,
    STARGAZER_PAGE,
    StargazerPageSerializer,
    StargazerSerializer,
    row_window,
)
from community.querysets import stargazers
from devices.services import get_visible_device
from portal.api.docs import ANONYMOUS_401, answer_example
from portal.api.guards import require_person
from portal.api.params import PAGE

WHO = (
    "Only a person may star: a device gets a 403 `person-only`, and a device you may not"
    f" see is a 404. {ANONYMOUS_401}"
)


class StarSerializer(serializers.Serializer):
    starred = serializers.BooleanField(help_text="whether you starred it, now")
    stars = serializers.IntegerField(help_text="how many people starred it, now")


def _star_answer(device, starred: bool) -> Response:
    return Response({"starred": starred, "stars": stargazers(device).count()})


class StarView(APIView):
    """``PUT`` stars a device, ``DELETE`` takes the star off."""

    permission_classes = [AllowAny]  # each method says who may call it

    @extend_schema(
        summary="Star a device",
        description=(
            "Star a device you can see (a public one, or one of yours) and answer how"
            " many stars it has. Starring it again is no error and adds no star. " + WHO
        ),
        request=None,
        examples=[answer_example({"starred": True, "stars": 13})],
        parameters=[REF],
        responses=StarSerializer,
    )
    def put(self, request, ref: str):
        person = require_person(request)
        device = get_visible_device(person, ref)
        services.star(person, device)
        return _star_answer(device, True)

    @extend_schema(
        summary="Unstar a device",
        description=(
            "Take your star off a device and answer how many stars it has left. A device"
            " you never starred answers the same, with nothing changed. " + WHO
        ),
        examples=[answer_example({"starred": False, "stars": 12})],
        parameters=[REF],
        responses={200: StarSerializer},  # a 200 with the count, not DRF's 204 for a DELETE
    )
    def delete(self, request, ref: str):
        person = require_person(request)
        device = get_visible_device(person, ref)
        services.unstar(person, device)
        return _star_answer(device, False)


class StargazersView(APIView):
    """Who starred a device."""

    permission_classes = [AllowAny]

    @extend_schema(
        summary="List a device's stargazers",
        description=(
            "The people who starred the device, the newest star first, with when they"
            " starred it: anyone who may see the device may see them. A device you may"
            " not see is a 404. Paged by number (`page`, `limit`); `count` is the"
            f" device's stars. {ANONYMOUS_401}"
        ),
        examples=[answer_example(STARGAZER_PAGE)],
        parameters=[REF, PAGE, LIMIT],
        responses=StargazerPageSerializer,
    )
    def get(self, request, ref: str):
        device = get_visible_device(request.user, ref)
        return row_window(request, stargazers(device)).answer("stargazers", StargazerSerializer)
