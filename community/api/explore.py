"""``/community/devices``, ``/community/users/<nick>/devices``, ``/devices/<id>/forks``:
the device lists of the community pages, over the API.

Each reads the same querysets as its page (``community.querysets``): explore
lists public devices only, a profile a user's devices the caller may see, a
device's forks only those into devices the caller may see.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from community.api.listing import (
    DEVICE_PAGE,
    FORK_PAGE,
    LIMIT,
    DevicePageSerializer,
    ForkPageSerializer,
    ForkSerializer,
    device_window,
    row_window,
)
from community.api.listing import DeviceCardSerializer as Card
from community.querysets import (
    MAX_QUERY,
    cards,
    devices_of,
    forks_of,
    person_named,
    public_devices,
    search,
    signed_only,
    sort,
)
from devices.services import get_visible_device
from portal.api.docs import ANONYMOUS_401, answer_example
from portal.api.params import PAGE
from portal.errors import DomainError

#: The API's sort names, and the page's key for each.
SORTS = {"activity": "recent", "stars": "stars", "forks": "forks"}
DEFAULT_SORT = "activity"
REF = OpenApiParameter("ref", str, OpenApiParameter.PATH, description="device id, prn or nick")
NICK = OpenApiParameter("usernick", str, OpenApiParameter.PATH, description="the user's nick")


def _query(request) -> str:
    q = request.query_params.get("q", "").strip()
    if len(q) > MAX_QUERY:
        raise DomainError(f"q must be at most {MAX_QUERY} characters", code="bad-q")
    return q


#: ``signed``'s values: only signed devices, or all of them.
SIGNED_VALUES = {"1": True, "true": True, "0": False, "false": False, "": False}


def _signed(request) -> bool:
    raw = request.query_params.get("signed", "").strip().lower()
    if raw not in SIGNED_VALUES:
        raise DomainError("signed must be 1 or 0 (true or false)", code="bad-signed")
    return SIGNED_VALUES[raw]


def _sort(request) -> str:
    key = request.query_params.get("sort", "") or DEFAULT_SORT
    if key not in SORTS:
        raise DomainError(f"sort must be one of {', '.join(SORTS)}", code="bad-sort")
    return SORTS[key]


class ExploreView(APIView):
    """Explore and search the public devices."""

    permission_classes = [AllowAny]

    @extend_schema(
        summary="Explore public devices",
        description=(
            "The public devices, as the explore page lists them: `q` keeps those whose"
            " nick or description contains it (any case, at most"
            f" {MAX_QUERY} characters); `sort` orders them by `activity` (the default:"
            " the trail that moved last first), `stars` or `forks` (the most first, then"
            " by activity). A private device is never listed nor counted, not even to"
            " its owner. Paged by number: `page` from 1 and `limit`; the answer's"
            " `count` is how many match. `signed=1` keeps the devices whose newest"
            " revision is signed: every platform and the rest of the state covered by"
            " intact signatures (docs/signing.md). Anyone may call it, without a token"
            " too. A bad `sort`, `page`, `limit`, `q` or `signed` is a 400 naming it."
        ),
        examples=[answer_example(DEVICE_PAGE)],
        parameters=[
            OpenApiParameter("q", str, description="a word of the nick or the description"),
            OpenApiParameter("sort", str, enum=list(SORTS), description="default activity"),
            OpenApiParameter("signed", str, enum=["1", "0"], description="1: only signed devices"),
            PAGE,
            LIMIT,
        ],
        responses=DevicePageSerializer,
    )
    def get(self, request):
        q, key = _query(request), _sort(request)
        devices = search(public_devices(), q)
        if _signed(request):
            devices = signed_only(devices)
        return device_window(request, sort(devices, key)).answer("devices", Card)


class UserDevicesView(APIView):
    """A user's devices, as their profile page lists them."""

    permission_classes = [AllowAny]

    @extend_schema(
        summary="List a user's devices",
        description=(
            "The devices of the user `usernick` that you may see, the trail that moved"
            " last first: their public devices, and their private ones too when you are"
            " that user. Anyone may call it, without a token too. An unknown (or"
            " deactivated) user is a 404. Paged by number (`page`, `limit`); `count`"
            " counts only what you may see."
        ),
        examples=[answer_example(DEVICE_PAGE)],
        parameters=[NICK, PAGE, LIMIT],
        responses=DevicePageSerializer,
    )
    def get(self, request, usernick: str):
        found = device_window(request, devices_of(person_named(usernick), request.user))
        return found.answer("devices", Card)


class DeviceForksView(APIView):
    """The forks made from a device."""

    permission_classes = [AllowAny]

    @extend_schema(
        summary="List a device's forks",
        description=(
            "The forks made from the device, newest first: each names the device the"
            " fork made or went into (as explore shows it), the revision it posted"
            " there (`rev`) and the one it took (`source-rev`). Only forks into devices"
            " you may see are listed and counted, so a device's `forks` number can be"
            " larger than this list. A device you may not see is a 404. Paged by number"
            f" (`page`, `limit`). {ANONYMOUS_401}"
        ),
        examples=[answer_example(FORK_PAGE)],
        parameters=[REF, PAGE, LIMIT],
        responses=ForkPageSerializer,
    )
    def get(self, request, ref: str):
        device = get_visible_device(request.user, ref)
        forks = row_window(request, forks_of(device, request.user))
        found = {card.id: card for card in cards([f.device_id for f in forks.items], request.user)}
        for fork in forks.items:
            fork.card = found[fork.device_id]
        return forks.answer("forks", ForkSerializer)
