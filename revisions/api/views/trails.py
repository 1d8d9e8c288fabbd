"""``/trails/``: a device's factory state, trail lists, summaries and pvr remotes."""

from __future__ import annotations

from django.db.models import Prefetch
from django.http import Http404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api.docs import (
    ACCOUNT_PRN,
    ANONYMOUS_401,
    DEVICE_ID,
    DEVICE_PRN,
    answer_example,
    request_example,
)
from portal.api.guards import require_login
from portal.api.params import LIMIT, limit_param
from portal.auth import device_of, person_of
from portal.errors import Forbidden
from revisions import services
from revisions.api import examples
from revisions.api.lookups import get_step, get_trail
from revisions.api.parsers import StrictJSONParser
from revisions.api.serializers import PvrRemoteSerializer, TrailSerializer, TrailSummarySerializer
from revisions.api.views.common import REF, REV
from revisions.models import Step, Trail
from trail import wire

AFTER_ID = OpenApiParameter("after", str, description="only trails whose id sorts after this one")
TRAIL = {
    "id": DEVICE_ID,
    "owner": ACCOUNT_PRN,
    "device": DEVICE_PRN,
    "factory-state": examples.STATE,
    "last-touched": "2024-05-31T16:09:01.512Z",
    "time-created": "2024-05-30T11:20:04.775Z",
}
SUMMARY = {
    "device": DEVICE_PRN,
    "device-nick": "kiosk-lobby",
    "deviceid": DEVICE_ID,
    "public": False,
    "revision": 1,
    "running-revision": 0,
    "progress-revision": 1,
    "progress": 40,
    "status": "DOWNLOADING",
    "status-msg": "downloading objects",
    "state-sha": examples.STATE_SHA,
    "step-time": "2024-05-31T16:08:37.104Z",
    "progress-time": "2024-05-31T16:09:01.512Z",
    "timestamp": "2024-05-31T16:09:01.512Z",
    "trail-touched-time": "2024-05-31T16:08:37.104Z",
}


def _pvr_remote_example(rev: int) -> dict:
    step = f"{examples.HUB}/trails/{DEVICE_ID}/steps/{rev}"
    return {
        "pvr-spec": "pvr-pantahub-1",
        "json-get-url": f"{step}/state",
        "json-key": "state",
        "objects-endpoint": f"{step}/objects",
        "post-url": f"{examples.HUB}/trails/{DEVICE_ID}/steps",
        "post-fields": ["commit-msg"],
        "post-fields-opt": ["rev"],
        "step-get-url": step,
    }


def _factory_steps() -> Prefetch:
    return Prefetch("steps", queryset=Step.objects.filter(rev=0), to_attr="factory_steps")


def _own_trails(request):
    """The trails a caller controls: a device its own, a person their devices'."""
    require_login(request)
    device = device_of(request.user)
    if device is not None:
        return Trail.objects.filter(device=device)
    return Trail.objects.filter(device__owner=person_of(request.user))


def _page(request, trails):
    after = request.query_params.get("after", "")
    if after:
        trails = trails.filter(device_id__gt=after)
    return trails.order_by("device_id")[: limit_param(request)]


class TrailListView(APIView):
    """``GET``: the caller's trails. ``POST``: a device posts its factory state (revision 0)."""

    parser_classes = [StrictJSONParser]
    permission_classes = [AllowAny]  # each method says who may call it

    @extend_schema(
        summary="List your trails",
        description=(
            "A person gets the trails of their devices, a device its own, ordered by id"
            " and paged with `limit` and `after` (the last id of the previous page); each"
            " with its factory state (revision 0). Pantavisor asks for it after logging"
            f" in: `[]` until it posted its factory state. {ANONYMOUS_401}"
        ),
        examples=[answer_example(TRAIL)],
        parameters=[LIMIT, AFTER_ID],
        responses=TrailSerializer(many=True),
    )
    def get(self, request):
        trails = (
            _own_trails(request).select_related("device__owner").prefetch_related(_factory_steps())
        )
        return Response(TrailSerializer(_page(request, trails), many=True).data)

    @extend_schema(
        summary="Post your factory state (a device)",
        description=(
            "The calling device starts its trail: the body is its state.json, stored as"
            " revision 0 and DONE. The objects it names need not be uploaded yet: the"
            " device announces and uploads them after (`POST /objects/`). A state that"
            " breaks the state rules is a 400 naming the key; a device that already has"
            " a trail gets a 409 `trail-exists` (post new revisions to"
            " `/trails/<id>/steps`). Only a device may call it: a person gets a 403"
            f" `device-only`. {ANONYMOUS_401}"
        ),
        examples=[request_example(examples.STATE, "A factory state"), answer_example(TRAIL)],
        request=OpenApiTypes.OBJECT,
        responses=TrailSerializer,
    )
    def post(self, request):
        require_login(request)
        device = device_of(request.user)
        if device is None:
            raise Forbidden(
                "a device posts its own factory state; log in as the device", "device-only"
            )
        trail = services.create_trail(device, request.data)
        trail.device = device
        return Response(TrailSerializer(trail).data)


class TrailDetailView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Show a trail",
        description=(
            "The trail of the device `ref` names, with its factory state, for whoever may"
            " see the device (anyone when it is public). A device you may not see is a"
            " 404, and so is one that has not posted its factory state yet."
            f" {ANONYMOUS_401}"
        ),
        examples=[answer_example(TRAIL)],
        parameters=[REF],
        responses=TrailSerializer,
    )
    def get(self, request, ref):
        trail = get_trail(request.user, ref)
        return Response(TrailSerializer(trail).data)


def _summaries(trails) -> list[dict]:
    """Summaries of ``trails`` (a queryset, or a page of one) in two queries."""
    steps = Step.objects.filter(pk__in=[t.summary_step_id for t in trails if t.summary_step_id])
    by_id = {s.pk: s for s in steps.defer("state", "log", "downloads", "meta")}
    answers = []
    for trail in trails:
        device = trail.device
        step = by_id.get(trail.summary_step_id)
        modified = max(filter(None, (device.last_seen, device.time_modified)))
        answers.append(
            {
                "device": device.prn,
                "device_nick": device.nick,
                "deviceid": device.id,
                "public": device.public,
                "revision": trail.head_rev,
                "running_revision": trail.running_rev,
                "progress_revision": step.rev if step else None,
                "progress": step.progress if step else 0,
                "status": step.status if step else "",
                "status_msg": step.status_msg if step else "",
                "state_sha": step.state_sha if step else "",
                "step_time": step.time_created if step else None,
                "progress_time": step.progress_time if step else None,
                "timestamp": modified,
                "trail_touched_time": trail.last_touched,
            }
        )
    return answers


class TrailSummaryListView(APIView):
    """Where each of the caller's devices is: its newest reported revision and status."""

    permission_classes = [AllowAny]

    @extend_schema(
        summary="Summarise your devices' trails",
        description=(
            "For each of the caller's devices (a device: itself) where its trail stands:"
            " the newest revision, the one it runs, and the status and progress of the"
            " one it is working on; paged by id with `limit` and `after`."
            f" {ANONYMOUS_401}"
        ),
        examples=[answer_example(SUMMARY)],
        parameters=[LIMIT, AFTER_ID],
        responses=TrailSummarySerializer(many=True),
    )
    def get(self, request):
        trails = _page(request, _own_trails(request).select_related("device").with_summary())
        return Response(TrailSummarySerializer(_summaries(trails), many=True).data)


class TrailSummaryView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Summarise a trail",
        description=(
            "Where one device's trail stands: newest revision, running revision, and the"
            " status and progress of the revision in progress, for whoever may see the"
            f" device. A device you may not see is a 404. {ANONYMOUS_401}"
        ),
        examples=[answer_example(SUMMARY)],
        parameters=[REF],
        responses=TrailSummarySerializer,
    )
    def get(self, request, ref):
        trail = get_trail(request.user, ref)
        (summary,) = _summaries(
            Trail.objects.filter(pk=trail.pk).select_related("device").with_summary()
        )
        return Response(TrailSummarySerializer(summary).data)


def pvr_remote(request, trail: Trail, rev: int) -> dict:
    """The discovery document pvr reads before cloning revision ``rev`` or posting the next."""

    def url(name: str, **kwargs) -> str:
        return request.build_absolute_uri(reverse(name, kwargs=kwargs))

    return {
        "pvr_spec": wire.PVR_SPEC,
        "json_get_url": url("api-step-state", ref=trail.id, rev=rev),
        "json_key": "state",
        # Under the step, as the reference has it: pvr GETs <endpoint>/<sha> to clone
        # and POSTs <endpoint> to announce what it uploads (pantahub-base
        # trails/get-trail-pvr.go, pvr libpvr/repolib.go).
        "objects_endpoint": url("api-step-objects", ref=trail.id, rev=rev),
        "post_url": url("api-steps", ref=trail.id),
        "post_fields": ["commit-msg"],
        "post_fields_opt": ["rev"],
        "step_get_url": url("api-step", ref=trail.id, rev=rev),
    }


class TrailPvrRemoteView(APIView):
    """``/trails/<id>/.pvrremote``: pvr's view of the trail's newest revision."""

    permission_classes = [AllowAny]

    @extend_schema(
        summary="Get pvr's remote for the newest revision",
        description=(
            "The discovery document `pvr clone` and `pvr post` read first: where the"
            " newest revision's state and objects are, and where to post the next"
            " revision. For whoever may see the device; a trail with no revision is a"
            f" 404. {ANONYMOUS_401} Compatibility: pvr needs `objects-endpoint` under the"
            ' step and `post-fields-opt: ["rev"]`, as the reference server has them.'
        ),
        examples=[answer_example(_pvr_remote_example(1))],
        parameters=[REF],
        responses=PvrRemoteSerializer,
    )
    def get(self, request, ref):
        trail = get_trail(request.user, ref)
        if trail.head_rev < 0:
            raise Http404("this trail has no revisions yet")
        return Response(PvrRemoteSerializer(pvr_remote(request, trail, trail.head_rev)).data)


class StepPvrRemoteView(APIView):
    """``/trails/<id>/steps/<rev>/.pvrremote``: pvr's view of one revision."""

    permission_classes = [AllowAny]

    @extend_schema(
        summary="Get pvr's remote for one revision",
        description=(
            "The same discovery document as the trail's, for revision `rev`: where its"
            " state and objects are, and where to post the next revision. For whoever"
            f" may see the device; a revision that does not exist is a 404. {ANONYMOUS_401}"
        ),
        examples=[answer_example(_pvr_remote_example(0))],
        parameters=[REF, REV],
        responses=PvrRemoteSerializer,
    )
    def get(self, request, ref, rev):
        step = get_step(request.user, ref, rev)
        return Response(PvrRemoteSerializer(pvr_remote(request, step.trail, step.rev)).data)
