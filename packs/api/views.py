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
from packs.api import examples
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
from portal.api.docs import ANONYMOUS_401, answer_example, request_example
from portal.api.guards import require_person
from portal.api.params import limit_param

PACK = OpenApiParameter("pack", str, OpenApiParameter.PATH, description="pack id or nick")
DEVICE = OpenApiParameter(
    "device", str, OpenApiParameter.PATH, description="device id, prn or nick"
)
ROLLOUT = OpenApiParameter("rollout", str, OpenApiParameter.PATH, description="rollout id")
#: Who may call every pack operation, and what others get.
PERSONS_ONLY = (
    "Packs are private: only their owner sees them, anyone else gets a 404 for a pack"
    f" that is not theirs, and a device a 403 `person-only`. {ANONYMOUS_401}"
)


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

    @extend_schema(
        summary="List your packs",
        description=(
            "The calling person's packs, each with its leader, rollout settings, number of"
            f" followers and the status of its newest rollout. {PERSONS_ONLY}"
        ),
        examples=[answer_example(examples.PACK)],
        responses=PackSerializer(many=True),
    )
    def get(self, request):
        person = require_person(request)
        packs = Pack.objects.filter(owner=person).with_summary().select_related("owner")
        return Response(PackSerializer(packs, many=True).data)

    @extend_schema(
        summary="Create a pack",
        description=(
            "A person makes a pack: a nick, a leader (one of their devices, with hardware"
            " or a template without) and, optionally, the rollout settings (a canary share,"
            " wave size, failure threshold and wave timeout; a value out of range is a 400"
            " naming it) and `require-signatures` (the leader and the followers then take"
            " only revisions signed by signers you trust: docs/signing.md). The leader's revisions then go out to the followers added with"
            " `PUT /packs/<id>/followers/<device>`, or, with a `rule` over tags and device"
            " facts, to your devices that match it (400 `bad-rule`); `windows`, `timezone`"
            " and `start-at` hold waves until a maintenance window opens (400 `bad-windows`,"
            " `bad-timezone`; docs/packs.md). A nick already used is a 409"
            " `nick-taken`; a leader that is not yours a 404 (403 `not-your-device` when it"
            f" is public); a leader that would close a loop of packs a 409 `pack-loop`. {PERSONS_ONLY}"
        ),
        examples=[
            request_example(
                {
                    "nick": "kiosks",
                    "leader": "kiosk-template",
                    "description": "Lobby and café kiosks, building B",
                    **examples.SETTINGS,
                }
            ),
            answer_example(
                {
                    **examples.PACK_DETAIL,
                    "follower-count": 0,
                    "rollout-status": "completed",
                    "members": [examples.LEADER],
                    "counts": {},
                    "rollout": None,
                }
            ),
        ],
        request=PackCreateSerializer,
        responses=PackDetailSerializer,
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

    @extend_schema(
        summary="Show a pack",
        description=(
            "One pack with its members (leader first) and where each stands, the counts"
            " of the followers' statuses, the rollout in progress with its waves, and the"
            f" past rollouts. {PERSONS_ONLY}"
        ),
        examples=[answer_example(examples.PACK_DETAIL, "A rollout paused on its canary")],
        parameters=[PACK],
        responses=PackDetailSerializer,
    )
    def get(self, request, pack: str):
        return _pack_answer(_pack(request, pack))

    @extend_schema(
        summary="Change a pack",
        description=(
            "The owner changes the nick, description, rollout settings,"
            " `require-signatures`, leader, rule, windows, time zone or start time; the"
            " fields left out stay. A new rule makes the followers the owner's devices that"
            " match it, at once. A new leader is checked as at creation (yours, no"
            " loop: 409 `pack-loop`) and its current revision is rolled out to the"
            f" followers. A nick already used is a 409 `nick-taken`. {PERSONS_ONLY}"
        ),
        examples=[
            request_example({"wave-size": 5, "failure-threshold": 0.1}),
            request_example(
                {
                    "rule": examples.PACK["rule"],
                    "windows": examples.PACK["windows"],
                    "timezone": "Europe/Berlin",
                },
                "Followers by rule, waves at night",
            ),
            answer_example({**examples.PACK_DETAIL, "wave-size": 5, "failure-threshold": 0.1}),
        ],
        parameters=[PACK],
        request=PackUpdateSerializer,
        responses=PackDetailSerializer,
    )
    def patch(self, request, pack: str):
        found = _pack(request, pack)
        form = PackUpdateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        changes = dict(form.validated_data)
        if "leader" in changes:
            changes["leader"] = device_services.get_owned_device(request.user, changes["leader"])
        return _pack_answer(services.update_pack(found, **changes))

    @extend_schema(
        summary="Delete a pack",
        description=(
            "The owner deletes a pack: its devices stay as they are, with the revisions"
            " already posted to them, and nothing more is rolled out. The answer is the"
            f" pack as it was. {PERSONS_ONLY}"
        ),
        examples=[answer_example(examples.PACK, "The deleted pack")],
        parameters=[PACK],
        request=None,
        responses={200: PackSerializer},  # a 200 with the pack, not drf's 204
    )
    def delete(self, request, pack: str):
        found = _pack(request, pack)
        packs = Pack.objects.filter(pk=found.pk).with_summary().select_related("owner")
        answer = PackSerializer(packs.get()).data
        services.delete_pack(found)
        return Response(answer)


class FollowerView(APIView):
    """``PUT`` makes one of your devices follow the pack; ``DELETE`` stops it following."""

    @extend_schema(
        summary="Show a follower",
        description=(
            "Where one follower of the pack stands: the revision it runs, its newest"
            " revision and that revision's status. A device that does not follow the pack"
            f" is a 404. {PERSONS_ONLY}"
        ),
        examples=[answer_example(examples.FOLLOWER)],
        parameters=[PACK, DEVICE],
        responses=MemberSerializer,
    )
    def get(self, request, pack: str, device: str):
        found = _pack(request, pack)
        follower = device_services.get_visible_device(request.user, device)
        services.get_member(found, follower)
        return _member_answer(found, follower.id)

    @extend_schema(
        summary="Add a follower",
        description=(
            "The owner makes one of their devices follow the pack; it catches up to the"
            " leader's current revision, and takes the leader's next ones in the"
            " rollouts' waves. Adding it again changes nothing. A device follows at most"
            " one pack (409 `already-following`, naming the other); the leader cannot"
            " follow its own pack (400 `own-leader`), nor a device that would close a loop"
            " (409 `pack-loop`). A device that is not yours is a 404 (403 when it is"
            f" public). {PERSONS_ONLY}"
        ),
        examples=[
            answer_example({**examples.FOLLOWER, "head-status": "NEW", "head-status-msg": ""})
        ],
        parameters=[PACK, DEVICE],
        request=None,
        responses=MemberSerializer,
    )
    def put(self, request, pack: str, device: str):
        found = _pack(request, pack)
        follower = device_services.get_owned_device(request.user, device)
        services.add_follower(found, follower)
        return _member_answer(found, follower.id)

    @extend_schema(
        summary="Remove a follower",
        description=(
            "The device stops following the pack: what was not posted to it yet never"
            " will be; the revisions it has stay. The answer is the follower as it was."
            f" A device that does not follow the pack is a 404. {PERSONS_ONLY}"
        ),
        examples=[answer_example(examples.FOLLOWER, "The removed follower")],
        parameters=[PACK, DEVICE],
        request=None,
        responses={200: MemberSerializer},  # a 200 with the follower, not drf's 204
    )
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
        summary="List a pack's rollouts",
        description=(
            "The pack's rollouts, newest first, each with its waves and their tallies"
            " (ok, failed, cancelled, waiting) and a `status-msg` that says what it came"
            f" to. {PERSONS_ONLY}"
        ),
        examples=[answer_example(examples.ROLLOUT)],
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

    @extend_schema(
        summary="Show a rollout",
        description=(
            "One rollout with its waves and every follower's delivery: the revision posted"
            " to it, its progress status, the outcome for the wave, and the revision it"
            f" ran before. A rollout of another pack is a 404. {PERSONS_ONLY}"
        ),
        examples=[answer_example(examples.ROLLOUT_DETAIL)],
        parameters=[PACK, ROLLOUT],
        responses=RolloutDetailSerializer,
    )
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


def _action(summary: str, description: str, answer: dict, request=None, body=None):
    return extend_schema_view(
        post=extend_schema(
            summary=summary,
            description=f"{description} The answer is the rollout after it. {PERSONS_ONLY}",
            examples=[*([request_example(body)] if body else []), answer_example(answer)],
            parameters=[PACK, ROLLOUT],
            request=request,
            responses=RolloutDetailSerializer,
        )
    )


@_action(
    "Resume a paused rollout",
    "The owner resumes a rollout paused on a failed wave: the next wave starts, with what"
    " the pause held back. A rollout that is not paused is a 409 naming its status"
    " (`rollout-running`, `rollout-aborted`, …).",
    {
        **examples.ROLLOUT_DETAIL,
        "status": "running",
        "status-msg": "running · wave 2 of 2 (batch) · 0 of 3 devices ok, 1 failed, 2 waiting;"
        " wave 1 failed and the owner resumed",
        "current-wave": 2,
    },
)
class ResumeView(RolloutActionView):
    def act(self, rollout: Rollout, request) -> Rollout:
        return services.resume(rollout)


@_action(
    "Abort a rollout",
    "The owner stops a running or paused rollout: nothing more is posted; what was posted"
    " stays (revert a wave to undo it). A rollout already finished is a 409 naming its"
    " status.",
    {
        **examples.ROLLOUT_DETAIL,
        "status": "aborted",
        "status-msg": "aborted · 0 of 3 devices ok, 1 failed, 2 waiting",
    },
)
class AbortView(RolloutActionView):
    def act(self, rollout: Rollout, request) -> Rollout:
        return services.abort(rollout)


@_action(
    "Revert a wave",
    "The owner posts back to a wave's devices the revision they ran before, as a new"
    " revision (one not picked up yet is cancelled instead), and the rollout stops."
    " `wave` defaults to the newest wave that started. Only the pack's newest rollout can"
    " be reverted (409 `not-newest`); a wave that did not start, or was reverted already,"
    " is a 409; a wave the rollout does not have a 404 `no-such-wave`.",
    {
        **examples.ROLLOUT_DETAIL,
        "status": "reverted",
        "status-msg": "reverted · wave 1 went back to the previous revision"
        " · 0 of 3 devices ok, 1 failed, 2 waiting",
    },
    request=RevertSerializer,
    body={"wave": 1},
)
class RevertView(RolloutActionView):
    def act(self, rollout: Rollout, request) -> Rollout:
        form = RevertSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        return services.revert(rollout, form.validated_data.get("wave"))
