"""``/packs/…``: packs, their followers and rollouts. Persons only: packs are private.

Each view finds the pack through ``services.get_pack`` (the caller's own, or
404), validates, calls a service and answers.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework.response import Response
from rest_framework.views import APIView

from devices import services as device_services
from packs import services
from packs.api.serializers import (
    MemberSerializer,
    PackCreateSerializer,
    PackDetailSerializer,
    PackSerializer,
    PackUpdateSerializer,
    RevertSerializer,
    RolloutDetailSerializer,
    RolloutSerializer,
)
from packs.models import Delivery, Pack, Rollout
from portal.api.guards import require_person
from portal.api.params import limit_param

PACK = OpenApiParameter("pack", str, OpenApiParameter.PATH, description="pack id or nick")
DEVICE = OpenApiParameter(
    "device", str, OpenApiParameter.PATH, description="device id, prn or nick"
)
ROLLOUT = OpenApiParameter("rollout", str, OpenApiParameter.PATH, description="rollout id")


def _pack(request, ref: str) -> Pack:
    require_person(request)
    return services.get_pack(request.user, ref)


def _pack_answer(pack: Pack) -> Response:
    return Response(PackDetailSerializer(services.detail(pack)).data)


def _member_answer(pack: Pack, device_id: str) -> Response:
    member = next((m for m in services.members(pack) if m.id == device_id), None)
    return Response(MemberSerializer(member).data)


def _rollout_answer(rollout: Rollout) -> Response:
    rollout = Rollout.objects.select_related("leader_step").get(pk=rollout.pk)
    services.with_tallies([rollout])
    deliveries = (
        Delivery.objects.filter(rollout=rollout)
        .select_related("device", "wave", "step", "previous")
        .order_by("kind", "wave__number", "id")
    )
    context = {"deliveries": deliveries}
    return Response(RolloutDetailSerializer(rollout, context=context).data)


class PackListView(APIView):
    """``GET`` lists the caller's packs; ``POST`` creates one."""

    @extend_schema(responses=PackSerializer(many=True))
    def get(self, request):
        person = require_person(request)
        packs = Pack.objects.filter(owner=person).with_summary().select_related("owner")
        return Response(PackSerializer(packs, many=True).data)

    @extend_schema(
        request=PackCreateSerializer,
        responses=PackDetailSerializer,
        description="The leader is one of your devices (with hardware, or a template without).",
    )
    def post(self, request):
        person = require_person(request)
        form = PackCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = dict(form.validated_data)
        leader = device_services.get_owned_device(person, data.pop("leader"))
        pack = services.create_pack(person, leader=leader, **data)
        return _pack_answer(pack)


class PackDetailView(APIView):
    """One pack: its members with their status, counts, the rollout in progress, past rollouts."""

    @extend_schema(parameters=[PACK], responses=PackDetailSerializer)
    def get(self, request, pack: str):
        return _pack_answer(_pack(request, pack))

    @extend_schema(parameters=[PACK], request=PackUpdateSerializer, responses=PackDetailSerializer)
    def patch(self, request, pack: str):
        found = _pack(request, pack)
        form = PackUpdateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        changes = dict(form.validated_data)
        if "leader" in changes:
            changes["leader"] = device_services.get_owned_device(request.user, changes["leader"])
        return _pack_answer(services.update_pack(found, **changes))

    @extend_schema(parameters=[PACK], request=None, responses=PackSerializer)
    def delete(self, request, pack: str):
        found = _pack(request, pack)
        packs = Pack.objects.filter(pk=found.pk).with_summary().select_related("owner")
        answer = PackSerializer(packs.get()).data
        services.delete_pack(found)
        return Response(answer)


class FollowerView(APIView):
    """``PUT`` makes one of your devices follow the pack; ``DELETE`` stops it following."""

    @extend_schema(parameters=[PACK, DEVICE], responses=MemberSerializer)
    def get(self, request, pack: str, device: str):
        found = _pack(request, pack)
        follower = device_services.get_visible_device(request.user, device)
        services.get_member(found, follower)
        return _member_answer(found, follower.id)

    @extend_schema(
        parameters=[PACK, DEVICE],
        request=None,
        responses=MemberSerializer,
        description="Idempotent. The device catches up to the leader's current revision.",
    )
    def put(self, request, pack: str, device: str):
        found = _pack(request, pack)
        follower = device_services.get_owned_device(request.user, device)
        services.add_follower(found, follower)
        return _member_answer(found, follower.id)

    @extend_schema(parameters=[PACK, DEVICE], request=None, responses=MemberSerializer)
    def delete(self, request, pack: str, device: str):
        found = _pack(request, pack)
        follower = device_services.get_visible_device(request.user, device)
        services.get_member(found, follower)
        answer = _member_answer(found, follower.id)
        services.remove_follower(found, follower)
        return answer


class RolloutListView(APIView):
    """The pack's rollouts, newest first, with their waves."""

    @extend_schema(
        parameters=[
            PACK,
            OpenApiParameter("limit", int, description="at most this many (default 50, max 1000)"),
        ],
        responses=RolloutSerializer(many=True),
    )
    def get(self, request, pack: str):
        found = _pack(request, pack)
        services.refresh(found)
        limit = limit_param(request, default=50)
        rollouts = Rollout.objects.filter(pack=found).select_related("leader_step")[:limit]
        return Response(RolloutSerializer(services.with_tallies(rollouts), many=True).data)


class RolloutDetailView(APIView):
    """One rollout, with its waves and every follower's delivery."""

    @extend_schema(parameters=[PACK, ROLLOUT], responses=RolloutDetailSerializer)
    def get(self, request, pack: str, rollout: str):
        found = _pack(request, pack)
        services.refresh(found)
        return _rollout_answer(services.get_rollout(found, rollout))


class RolloutActionView(APIView):
    """An owner's action on a rollout; answers the rollout as it is after it."""

    def act(self, rollout: Rollout, request) -> Rollout:
        raise NotImplementedError

    def post(self, request, pack: str, rollout: str):
        found = _pack(request, pack)
        return _rollout_answer(self.act(services.get_rollout(found, rollout), request))


def _action(description: str, request=None):
    return extend_schema_view(
        post=extend_schema(
            parameters=[PACK, ROLLOUT],
            request=request,
            responses=RolloutDetailSerializer,
            description=description,
        )
    )


@_action("Resume a paused rollout: the next wave starts.")
class ResumeView(RolloutActionView):
    def act(self, rollout: Rollout, request) -> Rollout:
        return services.resume(rollout)


@_action("Stop a running or paused rollout: nothing more is posted.")
class AbortView(RolloutActionView):
    def act(self, rollout: Rollout, request) -> Rollout:
        return services.abort(rollout)


@_action(
    "Post back to a wave's devices the revision they ran before, as a new revision (a"
    " revision not picked up yet is cancelled instead); the rollout stops. Only the pack's"
    " newest rollout can be reverted.",
    request=RevertSerializer,
)
class RevertView(RolloutActionView):
    def act(self, rollout: Rollout, request) -> Rollout:
        form = RevertSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        return services.revert(rollout, form.validated_data.get("wave"))
