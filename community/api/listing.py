"""What the community's API lists answer: device cards, stargazers and forks, paged by number.

A list answers ``{"count", "page", "limit", "<items>": [...]}``: ``count`` is how
many there are in all (only what the caller may see is counted), ``page`` and
``limit`` are the ones it was asked for (``?page=`` from 1, ``?limit=``, read by
``portal.api.params``). A page past the end is an empty list, not an error.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response

from community.querysets import window
from devices.api.serializers import HyphenatedFieldsMixin
from portal.api.docs import DEVICE_ID
from portal.api.params import limit_param, page_param

DEFAULT_LIMIT = 24
MAX_LIMIT = 100
LIMIT = OpenApiParameter(
    "limit", int, description=f"at most this many (default {DEFAULT_LIMIT}, at most {MAX_LIMIT})"
)


@dataclass
class Window:
    """One page of a list: how many there are in all, which page, and its items."""

    count: int
    page: int
    limit: int
    items: list

    def answer(self, key: str, serializer: type[serializers.Serializer]) -> Response:
        data = serializer(self.items, many=True).data
        return Response(answer(key, self.count, self.page, self.limit, data))


def _paging(request) -> tuple[int, int]:
    """``(page, limit)`` from the query, or a 400 ``bad-page`` / ``bad-limit``."""
    return page_param(request), limit_param(request, DEFAULT_LIMIT, MAX_LIMIT)


def device_window(request, ordered: QuerySet) -> Window:
    """The asked-for page of the ``ordered`` devices, as cards."""
    page, limit = _paging(request)
    count, found = window(ordered, page, limit, request.user)
    return Window(count, page, limit, found)


def row_window(request, queryset: QuerySet) -> Window:
    """The asked-for page of ``queryset``'s rows."""
    page, limit = _paging(request)
    start = (page - 1) * limit
    return Window(queryset.count(), page, limit, list(queryset[start : start + limit]))


def answer(key: str, count: int, page: int, limit: int, data: list) -> dict:
    return {"count": count, "page": page, "limit": limit, key: data}


class DeviceCardSerializer(HyphenatedFieldsMixin, serializers.Serializer):
    """A device as explore shows it: a device from ``community.querysets.cards``."""

    id = serializers.CharField()
    owner_nick = serializers.CharField(source="owner.username")
    nick = serializers.CharField()
    description = serializers.CharField()
    public = serializers.BooleanField()
    stars = serializers.IntegerField(source="star_count")
    forks = serializers.IntegerField(source="fork_count")
    starred = serializers.BooleanField(help_text="whether the caller starred it")
    head_rev = serializers.IntegerField(allow_null=True, help_text="its newest revision")
    signed = serializers.SerializerMethodField(
        help_text="whether every part of its newest revision is signed (docs/signing.md);"
        " false without a revision"
    )
    last_activity = serializers.DateTimeField(
        source="activity", help_text="when its trail last moved, else when it was made"
    )

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_signed(self, device) -> bool:
        return bool(device.head_signed)


class StargazerSerializer(HyphenatedFieldsMixin, serializers.Serializer):
    """A star on a device: who, and when."""

    nick = serializers.CharField(source="user.username")
    time_starred = serializers.DateTimeField(source="time_created")


class ForkSerializer(HyphenatedFieldsMixin, serializers.Serializer):
    """A fork from a device: the device it made (or went into) and the revisions on each side."""

    device = DeviceCardSerializer(source="card")
    rev = serializers.IntegerField(help_text="the revision the fork posted to the device")
    source_rev = serializers.IntegerField(help_text="the revision it was forked from")
    time_created = serializers.DateTimeField()


class _PageSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="how many in all that you may see")
    page = serializers.IntegerField()
    limit = serializers.IntegerField()


class DevicePageSerializer(_PageSerializer):
    devices = DeviceCardSerializer(many=True)


class StargazerPageSerializer(_PageSerializer):
    stargazers = StargazerSerializer(many=True)


class ForkPageSerializer(_PageSerializer):
    forks = ForkSerializer(many=True)


#: Examples for /api/docs/.
CARD = {
    "id": DEVICE_ID,
    "owner-nick": "alice",
    "nick": "kiosk-lobby",
    "description": "Lobby kiosk, building B",
    "public": True,
    "stars": 12,
    "forks": 3,
    "starred": False,
    "head-rev": 7,
    "signed": True,
    "last-activity": "2024-06-02T09:12:05.881Z",
}
DEVICE_PAGE = answer("devices", 1, 1, DEFAULT_LIMIT, [CARD])
STARGAZER_PAGE = answer(
    "stargazers", 1, 1, DEFAULT_LIMIT, [{"nick": "bob", "time-starred": "2024-06-03T10:00:00Z"}]
)
FORK_PAGE = answer(
    "forks",
    1,
    1,
    DEFAULT_LIMIT,
    [
        {
            "device": {
                **CARD,
                "id": "5f3c1e9a8b7d6c5e4f3a2b9d",
                "owner-nick": "bob",
                "stars": 0,
                "forks": 0,
                "head-rev": 0,
            },
            "rev": 0,
            "source-rev": 7,
            "time-created": "2024-06-03T10:02:11.204Z",
        }
    ],
)
