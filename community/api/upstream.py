"""``/trails/<id>/upstream``: a fork and the device it was forked from, over the API.

How far behind it is (``GET``), following it (``PUT {"follow"}``), and merging an
upstream revision into it (``POST …/merge``), through ``community.services.upstream``
as the device page does.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from community.api.explore import REF
from community.api.forks import NEW_DEVICE_ID
from community.services import upstream
from devices.api.serializers import HyphenatedFieldsMixin
from devices.services import get_owned_device, get_visible_device
from portal.api.docs import ANONYMOUS_401, DEVICE_ID, answer_example, request_example
from portal.api.guards import require_person
from revisions.api import examples
from revisions.api.serializers import StepSerializer
from trail import wire


class UpstreamSerializer(HyphenatedFieldsMixin, serializers.Serializer):
    """A device's upstream (an ``UpstreamStatus``): all null when there is none to see."""

    device = serializers.CharField(
        source="source.id", allow_null=True, help_text="the id of the device forked from"
    )
    owner_nick = serializers.CharField(source="source.owner.username", allow_null=True)
    nick = serializers.CharField(source="source.nick", allow_null=True)
    base_rev = serializers.IntegerField(
        allow_null=True, help_text="the upstream revision the device last took in"
    )
    head_rev = serializers.IntegerField(allow_null=True, help_text="the upstream's newest")
    behind = serializers.IntegerField(help_text="upstream revisions since base-rev")
    follow = serializers.BooleanField(help_text="whether it merges new ones by itself")
    notice = serializers.CharField(help_text="why following stopped, until the next merge")

    def to_representation(self, instance: upstream.UpstreamStatus) -> dict:
        if instance.source is None:  # nothing to follow: the source's fields are null
            return {
                "device": None,
                "owner-nick": None,
                "nick": None,
                "base-rev": None,
                "head-rev": None,
                "behind": 0,
                "follow": False,
                "notice": instance.notice,
            }
        return super().to_representation(instance)


class FollowSerializer(serializers.Serializer):
    follow = serializers.BooleanField(help_text="true: merge each new upstream revision")


class MergeRequestSerializer(HyphenatedFieldsMixin, serializers.Serializer):
    rev = serializers.IntegerField(
        min_value=-1, default=-1, help_text="the upstream revision to merge; -1: the newest"
    )
    state = serializers.DictField(
        required=False,
        help_text="the merge resolved by hand, posted instead of the computed one",
    )
    parent_rev = serializers.IntegerField(
        min_value=0,
        required=False,
        help_text="with state: the device's revision the resolution was made from",
    )

    def validate(self, attrs):
        if "parent_rev" in attrs and "state" not in attrs:
            raise serializers.ValidationError(
                {"parent-rev": "parent-rev goes with a state resolved by hand"}
            )
        return attrs


class MergeAnswerSerializer(serializers.Serializer):
    revision = StepSerializer(allow_null=True, help_text="the revision posted; null if none")
    upstream = UpstreamSerializer()


UPSTREAM = {
    "device": DEVICE_ID,
    "owner-nick": "bob",
    "nick": "kiosk-lobby",
    "base-rev": 7,
    "head-rev": 9,
    "behind": 2,
    "follow": False,
    "notice": "",
}
MERGED = {
    "revision": {
        **examples.STEP,
        "id": f"{NEW_DEVICE_ID}-3",
        "device": wire.device_prn(NEW_DEVICE_ID),
        "trail-id": NEW_DEVICE_ID,
        "rev": 3,
        "commit-msg": "Merge upstream bob/kiosk-lobby rev 9",
        "progress": examples.NEW_PROGRESS,
    },
    "upstream": {**UPSTREAM, "base-rev": 9, "behind": 0},
}
CONFLICTS = {
    "error": "upstream revision 9 changes 1 place(s) that alice/my-kiosk changed otherwise"
    " since revision 7: resolve them by hand (`trail pull --upstream` in a working copy of"
    " it, then `trail post`)",
    "code": "conflicts",
    "conflicts": [
        {
            "path": "/bsp~1run.json/initrd_config",
            "base": "trail.config",
            "ours": "lobby.config",
            "theirs": "",
        }
    ],
}
OWNER_ONLY = (
    "Only the device's owner may: anyone else who may see it gets a 403 `owner-only`, a"
    f" device a 403 `person-only`, others a 404. {ANONYMOUS_401}"
)


def _answer(request, ref: str) -> Response:
    device = get_visible_device(request.user, ref)
    return Response(UpstreamSerializer(upstream.upstream_of(device, request.user)).data)


class UpstreamView(APIView):
    """Where a fork comes from, and whether it follows it."""

    permission_classes = [AllowAny]

    @extend_schema(
        summary="Show a device's upstream",
        description=(
            "The device this one was forked from (the newest fork into it), the upstream"
            " revision it last took in (`base-rev`: the fork's, then each merge's), the"
            " upstream's newest revision and how many came since (`behind`); whether it"
            " follows them, and why following stopped (`notice`). A device that is no"
            " fork, or whose upstream is gone or one you may not see, answers nulls and"
            " `behind` 0. For whoever may see the device; a device you may not see is a"
            f" 404. {ANONYMOUS_401}"
        ),
        parameters=[REF],
        responses=UpstreamSerializer,
        examples=[answer_example(UPSTREAM)],
    )
    def get(self, request, ref: str):
        return _answer(request, ref)

    @extend_schema(
        summary="Follow a device's upstream",
        description=(
            "`follow: true` merges each new upstream revision by itself, as soon as the"
            " upstream reached it (DONE or UPDATED; a template upstream at once), and"
            " merges now the newest one it reached if the device lacks it; a merge that"
            " conflicts stops following and says why in `notice`. `false` stops. Answers"
            " the upstream as `GET` does. A device with no upstream you may see is a 409"
            f" `no-upstream`. {OWNER_ONLY}"
        ),
        parameters=[REF],
        request=FollowSerializer,
        responses=UpstreamSerializer,
        examples=[
            request_example({"follow": True}),
            answer_example({**UPSTREAM, "follow": True}),
        ],
    )
    def put(self, request, ref: str):
        person = require_person(request)
        device = get_owned_device(person, ref)
        form = FollowSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        upstream.set_follow(person, device, form.validated_data["follow"])
        return _answer(request, ref)


class UpstreamMergeView(APIView):
    """Merge an upstream revision into the fork."""

    permission_classes = [AllowAny]

    @extend_schema(
        summary="Merge an upstream revision",
        description=(
            "Three-way merge of upstream revision `rev` (-1, the default: the newest) into"
            " the device: the base is the upstream revision it last took in, ours its"
            " newest revision, theirs `rev`. Keys merge by key and the members of JSON"
            " values one by one. A clean merge is posted as the device's next revision"
            ' ("Merge upstream owner/nick rev N", its objects linked, `forked_from`'
            " the upstream revision) and answers 201 with it; when the device holds the"
            " merged state already nothing is posted (200, `revision` null). Either way"
            " `base-rev` moves to `rev`. Where both sides changed the same key or member"
            " differently, it answers 409 `conflicts` with each (`path`, an RFC 6901"
            " pointer into the state, and the `base`, `ours` and `theirs` values there,"
            " a side that has none leaving it out) and changes nothing. With `state`,"
            " the merge resolved by hand (what `trail pull --upstream` posts after the"
            " conflicts are resolved), that state is posted instead of the computed one,"
            " conflicts or not; `parent-rev`, the device's revision it was made from,"
            " must still be its newest, else a 409 `moved` (a revision posted since"
            " would be lost). A revision the"
            " upstream does not have is a 400 `no-such-rev`; one taken in already a 409"
            " `up-to-date`; no upstream you may see a 409 `no-upstream`. " + OWNER_ONLY
        ),
        parameters=[REF],
        request=MergeRequestSerializer,
        responses={201: MergeAnswerSerializer, 200: MergeAnswerSerializer},
        examples=[
            request_example({"rev": -1}),
            request_example(
                {"rev": 9, "parent-rev": 2, "state": {"#spec": "pantavisor-service-system@1"}},
                "Resolved by hand",
            ),
            answer_example(MERGED, status=201),
            answer_example(CONFLICTS, "Conflicts", status=409),
        ],
    )
    def post(self, request, ref: str):
        person = require_person(request)
        device = get_owned_device(person, ref)
        form = MergeRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        asked = form.validated_data
        new = upstream.merge_upstream(
            person,
            device,
            asked["rev"],
            resolved=asked.get("state"),
            parent_rev=asked.get("parent_rev"),
        )
        answer = {
            "revision": StepSerializer(new, context={"device": device}).data if new else None,
            "upstream": UpstreamSerializer(upstream.upstream_of(device, person)).data,
        }
        return Response(answer, status=status.HTTP_201_CREATED if new else status.HTTP_200_OK)
