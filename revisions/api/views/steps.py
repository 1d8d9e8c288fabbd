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
from portal.api.docs import ANONYMOUS_401, answer_example, request_example
from portal.api.params import LIMIT, int_param, limit_param
from portal.auth import device_of, person_of
from revisions import pollcache, services
from revisions.api import examples, poll
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
from trail import status as st
from trail.wire import DEVICE_PRN_PREFIX

STATUS_PARAM = OpenApiParameter(
    "progress.status",
    str,
    description='a status, or {"$in": [...]} (also $nin, $ne); default: the not-finished ones',
)
RELEASE_META = {"release": "2024.06", "channel": "stable"}
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
        summary="List pending revisions (a device's poll)",
        description=(
            "The revisions of a trail not finished yet (or those `progress.status`"
            " selects), oldest first, for whoever may see the device; paged with `limit`"
            " and `after` (a revision number). A device asking for its own trail gets only"
            " the oldest one, the revision it must work on next: every device polls this"
            " every few seconds, and while nothing changed the answer comes from the cache"
            " with an `ETag` (a 304 to `If-None-Match`), with no filter or with"
            " Pantavisor's (exactly the pending statuses). A device you may not see is a"
            f" 404; an unknown status a 400 `unknown-status`. {ANONYMOUS_401}"
            " Compatibility: Pantavisor sends"
            ' `progress.status={"$in": [NEW, DOWNLOADING, INPROGRESS, TESTING, QUEUED]}`,'
            " and pantavisor-mocker needs every time as a string, `progress-time` included."
        ),
        examples=[answer_example({**examples.STEP, "progress": examples.NEW_PROGRESS})],
        parameters=[REF, STATUS_PARAM, LIMIT, AFTER_REV],
        responses=StepSerializer(many=True),
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
            if statuses and frozenset(statuses) != st.PENDING:
                steps = steps.filter(status__in=statuses)
                return _steps_answer(request, steps.order_by("rev")[:1], device)
            # No filter, or Pantavisor's (exactly the pending statuses): the poll, cached.
            steps = steps.pending()
            data = StepSerializer(steps.order_by("rev")[:1], many=True, context={"device": device})
            return poll.answer(request, device.id, data.data, current)
        trail = get_trail(request.user, ref)
        steps = trail.steps.select_related("author")
        steps = steps.filter(status__in=statuses) if statuses else steps.pending()
        after = int_param(request, "after")
        if after is not None:
            steps = steps.filter(rev__gt=after)
        return _steps_answer(request, steps.order_by("rev")[: limit_param(request)], trail.device)

    @extend_schema(
        summary="Post a new revision",
        description=(
            "The device's owner (or the device itself) adds a revision: its state, a"
            " commit message and, optionally, its number (`rev`; -1 or none: the next)."
            " It starts NEW and the device picks it up on its next poll. Every object the"
            " state names must be the owner's (uploaded, or linked from a public"
            " revision), else a 409 `missing-objects` lists them; a number already used is"
            " a 409 `rev-exists`, one that skips numbers a 400 `rev-skips`, a state that"
            " breaks the state rules a 400 naming the key, an unclaimed device a 409"
            " `unclaimed`; on a device that requires signatures, a state its owner's"
            " trusted signers did not sign is a 422 `unsigned` with `uncovered` and"
            " `failing` (docs/signing.md), and nothing is stored. Anyone else who may see the device gets a 403"
            f" `owner-or-itself`, others a 404. {ANONYMOUS_401} Compatibility: this is"
            " pvr's `post-url`; the objects of public revisions that the owner does not"
            " hold are linked first (`pvr` fastcopy), unless `?autolink=no`."
        ),
        examples=[
            request_example(
                {"commit-msg": "bsp: kernel 6.1.90", "rev": 1, "state": examples.STATE}
            ),
            answer_example({**examples.STEP, "progress": examples.NEW_PROGRESS}),
        ],
        parameters=[REF, AUTOLINK],
        request=StepPostSerializer,
        responses=StepSerializer,
    )
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

    @extend_schema(
        summary="Show a revision",
        description=(
            "Revision `rev` of a trail with its state, progress and who committed it, for"
            " whoever may see the device (anyone when it is public). A device you may not"
            f" see, or a revision that does not exist, is a 404. {ANONYMOUS_401}"
        ),
        examples=[answer_example(examples.STEP)],
        parameters=[REF, REV],
        responses=StepSerializer,
    )
    def get(self, request, ref, rev):
        step = get_step(request.user, ref, rev)
        return Response(StepSerializer(step, context={"device": step.trail.device}).data)


class StepStateView(APIView):
    """The raw state.json of a revision; the owner may replace it while it is NEW."""

    parser_classes = [StrictJSONParser]
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Read a revision's state.json",
        description=(
            "The revision's state as it was posted, nothing around it, for whoever may"
            f" see the device. A revision you may not see is a 404. {ANONYMOUS_401}"
            " Compatibility: this is pvr's `json-get-url`."
        ),
        examples=[answer_example(examples.STATE)],
        parameters=[REF, REV],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request, ref, rev):
        return Response(get_step(request.user, ref, rev).state)

    @extend_schema(
        summary="Replace a revision's state.json",
        description=(
            "The owner replaces the state of a revision the device has not picked up yet;"
            " once it moved past NEW it is a 409 `not-new` (post a new revision instead)."
            " The state rules apply as to a new revision (400 naming the key). The device"
            " itself gets a 403 `owner-only`, as does anyone else who may see it; others a"
            f" 404. {ANONYMOUS_401}"
        ),
        examples=[request_example(examples.STATE), answer_example(examples.STATE)],
        parameters=[REF, REV],
        request=OpenApiTypes.OBJECT,
        responses=OpenApiTypes.OBJECT,
    )
    def put(self, request, ref, rev):
        step = get_step(request.user, ref, rev)
        require_owner(request.user, step.trail)
        return Response(services.replace_state(step, request.data).state)

    @extend_schema(
        summary="Replace a revision's state.json (POST)",
        description=(
            "The same as `PUT` on this path: the owner replaces the state of a revision"
            " still NEW (409 `not-new` after), with the same refusals. Compatibility: the"
            " reference's pvr sends a POST here."
        ),
        examples=[request_example(examples.STATE), answer_example(examples.STATE)],
        parameters=[REF, REV],
        request=OpenApiTypes.OBJECT,
        responses=OpenApiTypes.OBJECT,
    )
    def post(self, request, ref, rev):
        return self.put(request, ref, rev)


class StepMetaView(APIView):
    """A revision's free-form meta; the owner replaces it."""

    parser_classes = [StrictJSONParser]
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Read a revision's meta",
        description=(
            "The revision's free-form meta (a JSON object, `{}` unless set), for whoever"
            f" may see the device. A revision you may not see is a 404. {ANONYMOUS_401}"
        ),
        examples=[answer_example(RELEASE_META)],
        parameters=[REF, REV],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request, ref, rev):
        return Response(get_step(request.user, ref, rev).meta)

    @extend_schema(
        summary="Replace a revision's meta",
        description=(
            "The owner replaces the revision's meta with the body, whatever its status;"
            " the device reads it with the revision. The device itself gets a 403"
            " `owner-only`, as does anyone else who may see it; others a 404."
            f" {ANONYMOUS_401}"
        ),
        examples=[request_example(RELEASE_META), answer_example(RELEASE_META)],
        parameters=[REF, REV],
        request=OpenApiTypes.OBJECT,
        responses=OpenApiTypes.OBJECT,
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

    @extend_schema(
        summary="Read a revision's progress",
        description=(
            "How far the device got installing the revision: `status`, `progress`"
            " (0-100), `status-msg`, retries and downloads, for whoever may see the"
            f" device. A revision you may not see is a 404. {ANONYMOUS_401}"
            " Compatibility: pantavisor-mocker reads it (`get_step_progress`)."
        ),
        examples=[answer_example(examples.PROGRESS)],
        parameters=[REF, REV],
        responses=ProgressSerializer,
    )
    def get(self, request, ref, rev):
        return Response(ProgressSerializer(get_step(request.user, ref, rev)).data)

    @extend_schema(
        summary="Report progress (a device)",
        description=(
            "The device reports how its install of the revision goes; the hub checks the"
            " move against the status table (docs/revisions.md) and answers the progress"
            " as stored. A move the table refuses is a 409 naming the current `status`"
            " (DONE is final, for example), an unknown status a 400. Only the device"
            " itself reports: its owner gets a 403 `device-only` (the owner uses"
            f" `/cancel` or `/wontgo`). {ANONYMOUS_401} Compatibility: every move a real"
            " device makes is a 200: QUEUED again on resume, TESTING back to INPROGRESS"
            " after a reboot, ERROR from QUEUED or DOWNLOADING, DONE then ERROR, WONTGO"
            " from any pending status; `retries` and `logs` are kept for Pantavisor."
        ),
        examples=[
            request_example(
                {
                    "status": "DOWNLOADING",
                    "status-msg": "downloading objects",
                    "progress": 40,
                    "retries": 0,
                    "downloads": examples.PROGRESS["downloads"],
                    "logs": "",
                }
            ),
            answer_example(examples.PROGRESS),
        ],
        parameters=[REF, REV],
        request=ProgressSerializer,
        responses=ProgressSerializer,
    )
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

    @extend_schema(
        summary="Cancel a revision not picked up yet",
        description=(
            "The owner cancels a revision still NEW (NEW → CANCEL): the device will not"
            " install it. Once the device reported on it, it is a 409 naming its status;"
            " use `/wontgo` for a revision in progress. The device itself gets a 403"
            f" `owner-only`, as does anyone else who may see it; others a 404. {ANONYMOUS_401}"
        ),
        examples=[answer_example({**examples.NEW_PROGRESS, "status": "CANCEL"})],
        parameters=[REF, REV],
        request=None,
        responses=ProgressSerializer,
    )
    def put(self, request, ref, rev):
        return super().put(request, ref, rev)


class StepWontgoView(_OwnerStatusView):
    """The owner refuses a revision before it is installed (QUEUED/DOWNLOADING/INPROGRESS → WONTGO)."""

    change = staticmethod(services.wontgo_step)

    @extend_schema(
        summary="Refuse a revision in progress",
        description=(
            "The owner stops a revision the device reported as pending (QUEUED,"
            " DOWNLOADING, INPROGRESS or TESTING → WONTGO), for instance one a device keeps"
            " retrying. A revision still NEW is cancelled with `/cancel` instead; a"
            " finished one is a 409 naming its status. The device itself gets a 403"
            f" `owner-only`, as does anyone else who may see it; others a 404. {ANONYMOUS_401}"
        ),
        examples=[
            answer_example({**examples.PROGRESS, "status": "WONTGO", "status-msg": ""}),
        ],
        parameters=[REF, REV],
        request=None,
        responses=ProgressSerializer,
    )
    def put(self, request, ref, rev):
        return super().put(request, ref, rev)
