"""``/audit``: the caller's audit log (portal/audit.py), newest first."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from portal import audit
from portal.api.docs import ANONYMOUS_401, DEVICE_ID, answer_example
from portal.api.guards import require_person
from portal.api.params import LIMIT, PAGE, limit_param, page_param
from portal.api.serializers import HyphenatedFieldsMixin

EXAMPLE = {
    "id": "6753a1c0e4b1d2c7e8f6a0b1",
    "time": "2026-12-06T10:00:00Z",
    "action": "revision.post",
    "actor": "alice",
    "actor-kind": "person",
    "via": "token",
    "token": {"id": "5f3c2d4e6a8b0c1d2e3f4a5b", "name": "ci-deploy"},
    "address": "203.0.113.7",
    "target": f"device:{DEVICE_ID}",
    "target-name": "kiosk-1",
    "before": None,
    "after": {"rev": 7, "commit-msg": "new app", "source": "api"},
}
PARAMETERS = [
    OpenApiParameter(
        "action",
        str,
        description="only this action (`token.create`), or its group (`token`)",
    ),
    OpenApiParameter("since", str, description="only entries from this date or time on (ISO 8601)"),
    OpenApiParameter(
        "target", str, description="only entries about this (`device:<id>`, or the id)"
    ),
    LIMIT,
    PAGE,
]


class AuditTokenSerializer(serializers.Serializer):
    id = serializers.CharField(source="token_id", allow_null=True)
    name = serializers.CharField(source="token_name")


class AuditEntrySerializer(HyphenatedFieldsMixin, serializers.Serializer):
    id = serializers.CharField()
    time = serializers.DateTimeField()
    action = serializers.ChoiceField(choices=audit.ACTION_CHOICES)
    actor = serializers.CharField(help_text="a nick, a device's nick or prn, or a task's name")
    actor_kind = serializers.ChoiceField(choices=["person", "device", "anonymous", "system"])
    via = serializers.CharField(
        help_text="session, password (a login token), token (scoped), device, task, or empty"
    )
    token = serializers.SerializerMethodField(help_text="the scoped token used, if one was")
    address = serializers.CharField(help_text="the client's address; empty for the system")
    target = serializers.CharField(help_text="what changed, as <type>:<id>; may be empty")
    target_name = serializers.CharField()
    before = serializers.JSONField(allow_null=True, help_text="changed fields before (small)")
    after = serializers.JSONField(allow_null=True, help_text="changed fields after (small)")

    def get_token(self, entry) -> dict | None:
        if not entry.token_name:
            return None
        return AuditTokenSerializer(entry).data


class AuditView(APIView):
    @extend_schema(
        summary="Read your audit log",
        description=(
            "Every change made to your account, devices, revisions, packs, rollouts and"
            " webhooks, newest first: the action, who made it (you through a web session, a"
            " login token or a named scoped token, one of your devices, or the system), from"
            " which address, what it was about, and the changed fields before and after"
            " (small; never a secret). Refusals of your scoped tokens are listed as"
            " `auth.refused`. Filter with `action`, `since` and `target`; paged with `limit`"
            " and `page`. 400 `bad-action`, `bad-since`, `bad-target`, `bad-limit`,"
            " `bad-page` for a filter it cannot read. A scoped token needs `audit:read`; a"
            " device gets a 403 `person-only`. " + ANONYMOUS_401
        ),
        parameters=PARAMETERS,
        responses=AuditEntrySerializer(many=True),
        examples=[answer_example(EXAMPLE)],
    )
    def get(self, request):
        person = require_person(request)
        params = request.query_params
        entries = audit.entries_of(
            person,
            action=params.get("action", ""),
            since=params.get("since", ""),
            target=params.get("target", ""),
        )
        limit = limit_param(request)
        start = (page_param(request) - 1) * limit
        return Response(AuditEntrySerializer(entries[start : start + limit], many=True).data)
