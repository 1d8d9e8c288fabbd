"""``/trails/<id>/proposals``: revision proposals (pull requests for devices) over the API.

Opening one, listing them, one with its diff against the target's newest revision and
whether it merges cleanly and keeps the target's signing rule, comments, merging and
closing, through ``community.services.proposals`` as the pages do.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from community.api.explore import REF
from community.api.forks import NEW_DEVICE_ID
from community.models import Proposal, ProposalComment
from community.services import proposals, revision_to_fork
from devices.services import get_visible_device
from portal.api.docs import ANONYMOUS_401, DEVICE_ID, answer_example, request_example
from portal.api.guards import require_person
from revisions.api import examples
from revisions.api.serializers import StepSerializer

NUMBER = OpenApiParameter(
    "number", int, OpenApiParameter.PATH, description="the proposal's number on its device"
)
STATUS = OpenApiParameter(
    "status",
    str,
    OpenApiParameter.QUERY,
    required=False,
    enum=list(Proposal.Status.values),
    description="only the proposals with this status",
)


# --- Requests ----------------------------------------------------------------------------


class ProposeSerializer(serializers.Serializer):
    """A revision of one of your devices (``from``, ``rev``) proposed to the device."""

    locals()["from"] = serializers.CharField(
        max_length=200, help_text="one of your devices (id, prn or nick)"
    )
    rev = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, help_text="its revision (default: newest)"
    )
    title = serializers.CharField(
        allow_blank=True, trim_whitespace=False, help_text="what it does, in a line"
    )
    body = serializers.CharField(
        required=False, allow_blank=True, trim_whitespace=False, help_text="why, at length"
    )


class CommentRequestSerializer(serializers.Serializer):
    body = serializers.CharField(allow_blank=True, trim_whitespace=False)


# --- Answers (the schema; the bodies are built by the functions below) -------------------


class SideSerializer(serializers.Serializer):
    device = serializers.CharField(allow_null=True, help_text="its id; null once deleted")
    label = serializers.CharField(help_text="owner/nick")
    rev = serializers.IntegerField()


class CommentSerializer(serializers.Serializer):
    author = serializers.CharField(help_text="the commenter's nick")
    body = serializers.CharField()
    time_created = serializers.DateTimeField()

    def get_fields(self):
        fields = super().get_fields()
        fields["time-created"] = fields.pop("time_created")
        return fields


class ProposalSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    title = serializers.CharField()
    body = serializers.CharField()
    status = serializers.ChoiceField(choices=Proposal.Status.choices)
    proposer = serializers.CharField(help_text="the proposer's nick")
    source = SideSerializer(help_text="the proposed revision (the request's `from`, `rev`)")
    base = SideSerializer(allow_null=True, help_text="where the merge starts from")
    merged_rev = serializers.IntegerField(allow_null=True)
    closed_by = serializers.CharField(allow_null=True)
    time_created = serializers.DateTimeField()
    time_closed = serializers.DateTimeField(allow_null=True)

    def get_fields(self):
        return {name.replace("_", "-"): field for name, field in super().get_fields().items()}


class SignaturesSerializer(serializers.Serializer):
    met = serializers.BooleanField()
    reason = serializers.CharField()
    uncovered = serializers.ListField(child=serializers.CharField())
    failing = serializers.ListField(child=serializers.DictField())


class ChangeSerializer(serializers.Serializer):
    key = serializers.CharField()
    op = serializers.ChoiceField(choices=["added", "removed", "changed"])
    object = serializers.BooleanField(help_text="an object key (else JSON)")
    old = serializers.CharField(allow_null=True, help_text="an object's sha before")
    new = serializers.CharField(allow_null=True, help_text="an object's sha after")
    lines = serializers.ListField(
        child=serializers.CharField(), help_text="the unified diff's lines; empty for binary"
    )


class ProposalDetailSerializer(ProposalSerializer):
    head_rev = serializers.IntegerField(allow_null=True, help_text="the target's newest")
    mergeable = serializers.BooleanField()
    conflicts = serializers.ListField(child=serializers.DictField())
    signatures = SignaturesSerializer(allow_null=True, help_text="null: none required")
    diff = ChangeSerializer(many=True)
    comments = CommentSerializer(many=True)


class MergedSerializer(serializers.Serializer):
    revision = StepSerializer()
    proposal = ProposalDetailSerializer()


def _side(device_id: str | None, text: str, rev: int) -> dict[str, Any]:
    return {"device": device_id, "label": text, "rev": rev}


def _stamp(value) -> str | None:
    return serializers.DateTimeField().to_representation(value) if value else None


def proposal_json(proposal: Proposal) -> dict[str, Any]:
    base = proposal.base
    return {
        "number": proposal.number,
        "title": proposal.title,
        "body": proposal.body,
        "status": proposal.status,
        "proposer": proposal.proposer.username,
        "source": _side(proposal.source_device_id, proposal.source_label, proposal.source_rev),
        "base": None
        if base is None
        else _side(base.trail_id, proposals.label(base.trail.device), base.rev),
        "merged-rev": proposal.merged_rev,
        "closed-by": proposal.closed_by.username if proposal.closed_by else None,
        "time-created": _stamp(proposal.time_created),
        "time-closed": _stamp(proposal.time_closed),
    }


def comment_json(comment: ProposalComment) -> dict[str, Any]:
    return {
        "author": comment.author.username,
        "body": comment.body,
        "time-created": _stamp(comment.time_created),
    }


def _lines(change) -> list[str]:
    return [line.text if line.sign == "@" else line.sign + line.text for line in change.lines]


def detail_json(proposal: Proposal) -> dict[str, Any]:
    found = proposals.review(proposal)
    verdict = found.verdict
    return {
        **proposal_json(proposal),
        "head-rev": found.head.rev if found.head else None,
        "mergeable": found.mergeable,
        "conflicts": found.conflicts,
        "signatures": None
        if verdict is None
        else {"met": verdict.met, "reason": verdict.reason, **verdict.as_json()},
        "diff": [
            {
                "key": change.key,
                "op": change.op,
                "object": change.is_object,
                "old": change.old,
                "new": change.new,
                "lines": _lines(change),
            }
            for change in proposals.changes(found).keys
        ],
        "comments": [comment_json(c) for c in proposals.comments_of(proposal)],
    }


# --- Examples ----------------------------------------------------------------------------

PROPOSAL = {
    "number": 3,
    "title": "Lobby kiosk: larger font",
    "body": "The lobby screen is read from across the hall.",
    "status": "open",
    "proposer": "alice",
    "source": {"device": NEW_DEVICE_ID, "label": "alice/my-kiosk", "rev": 4},
    "base": {"device": DEVICE_ID, "label": "bob/kiosk-lobby", "rev": 7},
    "merged-rev": None,
    "closed-by": None,
    "time-created": "2024-06-03T10:02:11.204000Z",
    "time-closed": None,
}
COMMENT = {
    "author": "bob",
    "body": "Thanks! Does it fit the small screens?",
    "time-created": "2024-06-03T11:40:02.518000Z",
}
DETAIL = {
    **PROPOSAL,
    "head-rev": 9,
    "mergeable": True,
    "conflicts": [],
    "signatures": None,
    "diff": [
        {
            "key": "_config/kiosk/etc/kiosk.conf",
            "op": "changed",
            "object": True,
            "old": "5e2a…",
            "new": "b41c…",
            "lines": ["@@ -1,2 +1,2 @@", " url=https://example.com/lobby", "-font=14", "+font=22"],
        }
    ],
    "comments": [COMMENT],
}
MERGED = {
    "revision": {
        **examples.STEP,
        "rev": 10,
        "commit-msg": "Merge proposal #3: Lobby kiosk: larger font",
        "progress": examples.NEW_PROGRESS,
    },
    "proposal": {
        **DETAIL,
        "status": "merged",
        "merged-rev": 10,
        "closed-by": "bob",
        "mergeable": False,
        "diff": [],
        "time-closed": "2024-06-03T12:00:00.000000Z",
    },
}
CONFLICTS = {
    "error": "proposal #3 changes 1 place(s) that bob/kiosk-lobby changed otherwise since:"
    " the proposer resolves them in a revision of their own and proposes that",
    "code": "conflicts",
    "conflicts": [{"path": "/kiosk~1run.json/url", "base": "a", "ours": "b", "theirs": "c"}],
}
SEEN = (
    "For whoever may see the device (a public one, or one of yours); a device you may"
    f" not see is a 404. {ANONYMOUS_401}"
)
OWNER_ONLY = (
    "Only the device's owner may: anyone else who may see it gets a 403 `owner-only`"
    f" (a device `person-only`), others a 404. {ANONYMOUS_401}"
)


def _proposal(request, ref: str, number: int) -> Proposal:
    return proposals.proposal_of(get_visible_device(request.user, ref), number)


class ProposalsView(APIView):
    """The proposals to a device, and proposing a revision to it."""

    permission_classes = [AllowAny]

    @extend_schema(
        summary="List a device's proposals",
        description=(
            "The revisions proposed to the device, newest first: open, merged and closed"
            f" (`status` keeps one). {SEEN}"
        ),
        parameters=[REF, STATUS],
        responses=ProposalSerializer(many=True),
        examples=[answer_example(PROPOSAL)],
    )
    def get(self, request, ref: str):
        device = get_visible_device(request.user, ref)
        wanted = request.query_params.get("status", "")
        if wanted and wanted not in Proposal.Status.values:
            return Response(
                {"error": "status is one of open, merged, closed", "code": "bad-status"},
                status=status.HTTP_400_BAD_REQUEST,
            )
        rows = proposals.proposals_of(device, wanted).select_related(
            "closed_by", "base__trail__device__owner"
        )
        return Response([proposal_json(p) for p in rows])

    @extend_schema(
        summary="Propose a revision to a device",
        description=(
            "Propose revision `rev` (default: the newest) of `from`, one of your devices,"
            " to this device, which you may see (a public one, or one of yours): it gets"
            " the device's next proposal number, open, and answers 201 as `GET` of it"
            " does. Its owner merges or closes it; you may close it. Proposing gives you"
            " no write access to the device. The merge starts from what one device last"
            " took in from the other (a fork proposing back), else from the device's"
            " newest revision now. Refused: a `from` you may not see (404) or do not own"
            " (403 `owner-only`), the device itself (400 `propose-to-itself`), a revision"
            " it does not have (400 `no-such-rev`), no title or one over 200 characters"
            " (400 `title-required`, `title-too-long`), a body over 20,000 (400"
            " `body-too-long`), a device without revisions (409 `no-revisions`), one that"
            " holds the changes already (409 `nothing-to-propose`), the same revision"
            " open there already (409 `already-proposed`). A device caller gets a 403"
            f" `person-only`. {SEEN}"
        ),
        parameters=[REF],
        request=ProposeSerializer,
        responses={201: ProposalDetailSerializer},
        examples=[
            request_example(
                {"from": "my-kiosk", "rev": 4, "title": PROPOSAL["title"], "body": PROPOSAL["body"]}
            ),
            answer_example({**DETAIL, "comments": []}, status=201),
        ],
    )
    def post(self, request, ref: str):
        person = require_person(request)
        target = get_visible_device(person, ref)
        form = ProposeSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        source = get_visible_device(person, data["from"])
        step = revision_to_fork(source, data.get("rev"))
        proposal = proposals.open_proposal(
            person, target, step, data["title"], data.get("body", "")
        )
        return Response(detail_json(proposal), status=status.HTTP_201_CREATED)


class ProposalView(APIView):
    """One proposal."""

    permission_classes = [AllowAny]

    @extend_schema(
        summary="Show a proposal",
        description=(
            "The proposal, its comments, and for an open one what merging it now would"
            " do: `diff` from the device's newest revision (`head-rev`) to the merged"
            " state, a line diff (`lines`, unified) for JSON and for small text objects,"
            " objects named by sha otherwise; `conflicts` (each `path`, an RFC 6901"
            " pointer, with the `base`, `ours` and `theirs` values); `signatures`, whether"
            " the merged state would keep the device's signing rule (null when it has"
            " none); `mergeable`, clean and signed as required. A merged one's `diff` is"
            f" what its revision changed. {SEEN}"
        ),
        parameters=[REF, NUMBER],
        responses=ProposalDetailSerializer,
        examples=[answer_example(DETAIL)],
    )
    def get(self, request, ref: str, number: int):
        return Response(detail_json(_proposal(request, ref, number)))


class ProposalCommentsView(APIView):
    """Comment on a proposal."""

    permission_classes = [AllowAny]

    @extend_schema(
        summary="Comment on a proposal",
        description=(
            "Any person who may see the device comments on its proposals, open or not:"
            " 201 with the comment. No body, or one over 10,000 characters, is a 400"
            " (`comment-required`, `comment-too-long`). A device caller gets a 403"
            f" `person-only`. {SEEN}"
        ),
        parameters=[REF, NUMBER],
        request=CommentRequestSerializer,
        responses={201: CommentSerializer},
        examples=[request_example({"body": COMMENT["body"]}), answer_example(COMMENT, status=201)],
    )
    def post(self, request, ref: str, number: int):
        person = require_person(request)
        proposal = _proposal(request, ref, number)
        form = CommentRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        made = proposals.comment(person, proposal, form.validated_data["body"])
        return Response(comment_json(made), status=status.HTTP_201_CREATED)


class ProposalMergeView(APIView):
    """Merge a proposal."""

    permission_classes = [AllowAny]

    @extend_schema(
        summary="Merge a proposal",
        description=(
            "Three-way merge of the proposed revision into the device's newest (from the"
            " proposal's `base`), posted as the device's next revision: its author the"
            ' proposer, its message "Merge proposal #n: title", the proposed objects it'
            " names linked to you. Answers 201 with the revision and the proposal, now"
            " merged. Where both sides changed the same key or member differently it"
            " answers 409 `conflicts` with each and changes nothing; a proposal not open"
            " is a 409 `not-open`, one whose revision is gone `source-gone`, one the"
            " device holds already `nothing-to-merge`; a merged state that breaks the"
            " device's signing rule a 422 `unsigned`, as a post would be. " + OWNER_ONLY
        ),
        parameters=[REF, NUMBER],
        request=None,
        responses={201: MergedSerializer},
        examples=[
            answer_example(MERGED, status=201),
            answer_example(CONFLICTS, "Conflicts", status=409),
        ],
    )
    def post(self, request, ref: str, number: int):
        person = require_person(request)
        proposal = _proposal(request, ref, number)
        new = proposals.merge(person, proposal)
        answer = {
            "revision": StepSerializer(new, context={"device": proposal.target}).data,
            "proposal": detail_json(proposal),
        }
        return Response(answer, status=status.HTTP_201_CREATED)


class ProposalCloseView(APIView):
    """Close a proposal unmerged."""

    permission_classes = [AllowAny]

    @extend_schema(
        summary="Close a proposal",
        description=(
            "The device's owner or the proposer closes an open proposal without merging"
            " it: 200 with it. Anyone else who may see it gets a 403 `owner-or-proposer`"
            " (a device `person-only`); a proposal not open is a 409 `not-open`."
            f" {SEEN}"
        ),
        parameters=[REF, NUMBER],
        request=None,
        responses=ProposalDetailSerializer,
        examples=[
            answer_example({**DETAIL, "status": "closed", "closed-by": "alice", "mergeable": False})
        ],
    )
    def post(self, request, ref: str, number: int):
        person = require_person(request)
        proposal = proposals.close(person, _proposal(request, ref, number))
        return Response(detail_json(proposal))
