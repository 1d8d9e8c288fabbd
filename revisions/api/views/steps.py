"""``/trails/<id>/steps/…``: revisions, their state and meta, progress, cancel and wontgo.

``GET /trails/<id>/steps`` is the hottest path: every device polls it every
few seconds. A device asking for its own trail is answered from its token's
device and one indexed query.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from portal import metrics
from portal.api.params import LIMIT, int_param, limit_param
from portal.auth import device_of, person_of
from revisions import pollcache, services
from revisions.api import poll
from revisions.api.lookups import (
    get_step,
    get_trail,
    require_itself,
    require_owner,
    require_poster,
)
from revisions.api.parsers import StrictJSONParser
from revisions.api.serializers import ProgressSerializer, StepPostSerializer, StepSerializer
from revisions.api.views.common import REF, REV, status_filter
from revisions.models import Step
from trail.wire import DEVICE_PRN_PREFIX

STATUS_PARAM = OpenApiParameter(
    "progress.status",
    str,
    description='a status, or {"$in": [...]} (also $nin, $ne); default: the not-finished ones',
)
AFTER_REV = OpenApiParameter("after", int, description="only revisions after this one")
AUTOLINK = OpenApiParameter(
    "autolink",
    str,
    description="no: do not link the objects of public revisions that the state names"
    " (pvr fastcopy links them by default)",
)


def _steps_answer(request, steps, device) -> Response:
    return Response(StepSerializer(steps, many=True, context={"device": device}).data)


class StepListView(APIView):
    """``GET``: pending revisions (a device: its oldest one). ``POST``: the owner adds one."""

    parser_classes = [StrictJSONParser]
    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[REF, STATUS_PARAM, LIMIT, AFTER_REV], responses=StepSerializer(many=True)
    )
    def get(self, request, ref):
        raw = request.query_params.get("progress.status")
        statuses = status_filter(raw) if raw else None
        device = device_of(request.user)
        if device is not None and ref in (device.id, DEVICE_PRN_PREFIX + device.id):
            # The device polling its own trail: no lookup, and only what it must do next.
            metrics.POLLS_FROM_DATABASE.inc()
            current = pollcache.version(device.id)  # before the steps are read (see poll.py)
            steps = Step.objects.filter(trail_id=device.id).select_related("author")
            steps = steps.filter(status__in=statuses) if statuses else steps.pending()
            if statuses:
                return _steps_answer(request, steps.order_by("rev")[:1], device)
            data = StepSerializer(steps.order_by("rev")[:1], many=True, context={"device": device})
            return poll.answer(request, device.id, data.data, current)
        trail = get_trail(request.user, ref)
        steps = trail.steps.select_related("author")
        steps = steps.filter(status__in=statuses) if statuses else steps.pending()
        after = int_param(request, "after")
        if after is not None:
            steps = steps.filter(rev__gt=after)
        return _steps_answer(request, steps.order_by("rev")[: limit_param(request)], trail.device)

    @extend_schema(parameters=[REF, AUTOLINK], request=StepPostSerializer, responses=StepSerializer)
    def post(self, request, ref):
        trail = get_trail(request.user, ref)
        require_poster(request.user, trail)
        form = StepPostSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        author = person_of(request.user)  # None when the device posts to its own trail
        step = services.post_step(
            trail,
            data["state"],
            rev=data["rev"],
            commit_msg=data["commit_msg"],
            meta=data["meta"],
            author=author,
            link_public=request.query_params.get("autolink") != "no",
        )
        step.author = author
        return Response(StepSerializer(step, context={"device": trail.device}).data)


class StepDetailView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(parameters=[REF, REV], responses=StepSerializer)
    def get(self, request, ref, rev):
        step = get_step(request.user, ref, rev)
        return Response(StepSerializer(step, context={"device": step.trail.device}).data)


class StepStateView(APIView):
    """The raw state.json of a revision; the owner may replace it while it is NEW."""

    parser_classes = [StrictJSONParser]
    permission_classes = [AllowAny]

    @extend_schema(parameters=[REF, REV], responses=OpenApiTypes.OBJECT)
    def get(self, request, ref, rev):
        return Response(get_step(request.user, ref, rev).state)

    @extend_schema(
        parameters=[REF, REV], request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT
    )
    def put(self, request, ref, rev):
        step = get_step(request.user, ref, rev)
        require_owner(request.user, step.trail)
        return Response(services.replace_state(step, request.data).state)

    @extend_schema(
        parameters=[REF, REV],
        request=OpenApiTypes.OBJECT,
        responses=OpenApiTypes.OBJECT,
        description="The same as PUT (the reference's pvr uses POST).",
    )
    def post(self, request, ref, rev):
        return self.put(request, ref, rev)


class StepMetaView(APIView):
    """A revision's free-form meta; the owner replaces it."""

    parser_classes = [StrictJSONParser]
    permission_classes = [AllowAny]

    @extend_schema(parameters=[REF, REV], responses=OpenApiTypes.OBJECT)
    def get(self, request, ref, rev):
        return Response(get_step(request.user, ref, rev).meta)

    @extend_schema(
        parameters=[REF, REV], request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT
    )
    def put(self, request, ref, rev):
        step = get_step(request.user, ref, rev)
        require_owner(request.user, step.trail)
        return Response(services.set_meta(step, request.data).meta)


class StepProgressView(APIView):
    """The device reports its progress installing a revision; whoever sees the revision
    reads it (the mocker's ``get_step_progress``, pantavisor-mocker src/net/client.zig)."""

    parser_classes = [StrictJSONParser]
    permission_classes = [AllowAny]

    @extend_schema(parameters=[REF, REV], responses=ProgressSerializer)
    def get(self, request, ref, rev):
        return Response(ProgressSerializer(get_step(request.user, ref, rev)).data)

    @extend_schema(parameters=[REF, REV], request=ProgressSerializer, responses=ProgressSerializer)
    def put(self, request, ref, rev):
        step = get_step(request.user, ref, rev)
        require_itself(request.user, step.trail)
        form = ProgressSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        fields = dict(form.validated_data)
        step = services.report_progress(step, fields.pop("status"), **fields)
        return Response(ProgressSerializer(step).data)


class _OwnerStatusView(APIView):
    permission_classes = [AllowAny]
    change = staticmethod(services.cancel_step)

    def put(self, request, ref, rev):
        step = get_step(request.user, ref, rev)
        require_owner(request.user, step.trail)
        return Response(ProgressSerializer(type(self).change(step)).data)


class StepCancelView(_OwnerStatusView):
    """The owner cancels a revision the device has not picked up yet (NEW → CANCEL)."""

    change = staticmethod(services.cancel_step)

    @extend_schema(parameters=[REF, REV], request=None, responses=ProgressSerializer)
    def put(self, request, ref, rev):
        return super().put(request, ref, rev)


class StepWontgoView(_OwnerStatusView):
    """The owner refuses a revision before it is installed (QUEUED/DOWNLOADING/INPROGRESS → WONTGO)."""

    change = staticmethod(services.wontgo_step)

    @extend_schema(parameters=[REF, REV], request=None, responses=ProgressSerializer)
    def put(self, request, ref, rev):
        return super().put(request, ref, rev)
