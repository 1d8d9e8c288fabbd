"""``POST /devices/<id>/fork``: the device page's Fork button, over the API.

Both go through ``community.services.fork``: the revision is posted to a new
device without hardware (or to one of the caller's devices as its next
revision), its objects linked, never copied, and the lineage recorded.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from community import services
from community.api.explore import REF
from devices.api.serializers import DeviceSerializer, HyphenatedFieldsMixin
from devices.models import Device
from devices.services import get_owned_device, get_visible_device
from portal.api.docs import (
    ACCOUNT_PRN,
    ANONYMOUS_401,
    DEVICE_ID,
    answer_example,
    request_example,
)
from portal.api.guards import require_person
from revisions.api import examples
from revisions.api.serializers import StepSerializer
from trail import wire


class ForkRequestSerializer(serializers.Serializer):
    """What to fork, and where to."""

    nick = serializers.CharField(
        required=False,
        allow_blank=True,  # refused by the service, with the page's words
        trim_whitespace=False,
        help_text="the new device's nick (when not `into`)",
    )
    rev = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=0,
        help_text="the revision to fork (default: the newest)",
    )
    into = serializers.CharField(
        required=False,
        max_length=200,
        help_text="one of your devices (id, prn or nick): the fork becomes its next revision",
    )

    def validate(self, data: dict) -> dict:
        if "into" in data and "nick" in data:
            raise serializers.ValidationError(
                "give nick for a new device, or into for one of yours: not both",
                code="nick-or-into",
            )
        return data


class ForkedFromSerializer(HyphenatedFieldsMixin, serializers.Serializer):
    device = serializers.CharField(help_text="the id of the device forked from")
    owner_nick = serializers.CharField()
    nick = serializers.CharField()
    rev = serializers.IntegerField(help_text="the revision forked")


class ForkAnswerSerializer(HyphenatedFieldsMixin, serializers.Serializer):
    device = DeviceSerializer(help_text="the device the fork made, or went into")
    revision = StepSerializer(help_text="the revision the fork posted to it")
    forked_from = ForkedFromSerializer()


NEW_DEVICE_ID = "5f3c1e9a8b7d6c5e4f3a2b9d"
FORK = {
    "device": {
        "id": NEW_DEVICE_ID,
        "prn": wire.device_prn(NEW_DEVICE_ID),
        "nick": "my-kiosk",
        "owner": ACCOUNT_PRN,
        "owner-nick": "alice",
        "public": False,
        "description": "",
        "user-meta": {},
        "device-meta": {},
        "time-created": "2024-06-03T10:02:11.204Z",
        "time-modified": "2024-06-03T10:02:11.204Z",
        "online": False,
        "last-seen": None,
    },
    "revision": {
        **examples.STEP,
        "id": f"{NEW_DEVICE_ID}-0",
        "device": wire.device_prn(NEW_DEVICE_ID),
        "trail-id": NEW_DEVICE_ID,
        "rev": 0,
        "commit-msg": "Fork of bob/kiosk-lobby at revision 7",
        "progress": examples.NEW_PROGRESS,
    },
    "forked-from": {
        "device": DEVICE_ID,
        "owner-nick": "bob",
        "nick": "kiosk-lobby",
        "rev": 7,
    },
}


class ForkView(APIView):
    """Fork a device's revision."""

    permission_classes = [AllowAny]

    @extend_schema(
        summary="Fork a device",
        description=(
            "Copy a revision (`rev`, default the newest) of a device you may see (a public"
            " one, or one of yours) into a new device of yours called `nick`, which no"
            " hardware runs yet (a template devices can follow), or, with `into`, into one"
            " of your devices as its next revision. The revision's objects are linked to"
            " you, never copied; the lineage is recorded (`GET /devices/<id>/forks`, the"
            ' device pages\' "forked from"). Answers 201 with the device, the new'
            " revision and where it came from. A nick you already use is a 409"
            " `nick-taken`; no nick, or a bad one, a 400 (`nick-required`, `bad-nick`); a"
            " revision the device does not have a 400 `no-such-rev`, a device without any"
            " a 409 `no-revisions`; `nick` and `into` together a 400 `nick-or-into`. An"
            " `into` device you may not see is a 404, one you may see but do not own a 403"
            " `owner-only`, the device itself a 400 `fork-into-itself`, one that requires"
            " signatures the revision lacks a 422 `unsigned`. A device you may"
            " not see is a 404; a device caller gets a 403 `person-only`."
            f" {ANONYMOUS_401}"
        ),
        request=ForkRequestSerializer,
        responses={201: ForkAnswerSerializer},
        parameters=[REF],
        examples=[
            request_example({"nick": "my-kiosk"}, "Into a new device"),
            request_example({"rev": 7, "into": "lab-kiosk"}, "Into one of yours"),
            answer_example(FORK, status=201),
        ],
    )
    def post(self, request, ref: str):
        person = require_person(request)
        source = get_visible_device(person, ref)
        form = ForkRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        into = get_owned_device(person, data["into"]) if "into" in data else None
        step = services.revision_to_fork(source, data.get("rev"))
        new = services.fork(person, source, step, into=into, nick=data.get("nick", ""))
        device = into or Device.objects.select_related("owner").get(pk=new.trail_id)
        answer = {
            "device": DeviceSerializer(device, context={"request": request}).data,
            "revision": StepSerializer(new, context={"device": device}).data,
            "forked-from": {
                "device": source.id,
                "owner-nick": source.owner.username,
                "nick": source.nick,
                "rev": step.rev,
            },
        }
        return Response(answer, status=status.HTTP_201_CREATED)
