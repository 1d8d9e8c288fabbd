"""``/auth/tokens``: a person's scoped tokens for scripts and CI (portal/tokens.py)."""

from __future__ import annotations

import datetime as dt

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from portal import scopes, tokens
from portal.api.docs import ANONYMOUS_401, answer_example, request_example
from portal.api.guards import require_person
from portal.api.serializers import HyphenatedFieldsMixin

TOKEN_ID = "5f3c2d4e6a8b0c1d2e3f4a5b"
LISTED = {
    "id": TOKEN_ID,
    "name": "ci-deploy",
    "prefix": "tht_Xq3v",
    "scopes": ["devices:read", "trails:write"],
    "time-created": "2026-12-06T10:00:00Z",
    "last-used": None,
    "expires-at": "2027-01-05T10:00:00Z",
}
WHO = (
    " For a person logged in with a password (a login token or a web session): a scoped"
    " token cannot list, make or revoke tokens (403 `scope-login-only`), a device gets a"
    " 403 `person-only`. " + ANONYMOUS_401
)


class ScopedTokenSerializer(HyphenatedFieldsMixin, serializers.Serializer):
    id = serializers.CharField(read_only=True)
    name = serializers.CharField(max_length=100)
    prefix = serializers.CharField(read_only=True)
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=scopes.SCOPES),
        min_length=1,
        max_length=len(scopes.SCOPES),
    )
    expires_in = serializers.IntegerField(
        write_only=True,
        required=False,
        min_value=int(tokens.SHORTEST_LIFETIME.total_seconds()),
        max_value=int(tokens.LONGEST_LIFETIME.total_seconds()),
        help_text="Seconds the token lives; 30 days when not given.",
    )
    time_created = serializers.DateTimeField(read_only=True)
    last_used = serializers.DateTimeField(read_only=True, allow_null=True)  # never used: null
    expires_at = serializers.DateTimeField(read_only=True)


class NewScopedTokenSerializer(ScopedTokenSerializer):
    token = serializers.CharField(read_only=True, help_text="Shown this once; keep it now.")


class TokensView(APIView):
    @extend_schema(
        summary="List your scoped tokens",
        description="Your tokens, newest first: name, scopes, last use, expiry; never the token."
        + WHO,
        responses=ScopedTokenSerializer(many=True),
        examples=[answer_example(LISTED)],
    )
    def get(self, request):
        person = require_person(request)
        return Response(ScopedTokenSerializer(tokens.tokens_of(person), many=True).data)

    @extend_schema(
        summary="Make a scoped token",
        description=(
            "A token for a script or CI that acts as you, never beyond your own rights, within"
            f" its scopes ({', '.join(scopes.SCOPES)}; a write scope covers the read of its"
            " resource). Send it as `Authorization: Bearer tht_…`. It is answered once, and"
            " only its SHA-256 is kept. 400 for an unknown scope or a lifetime outside one"
            " minute to 366 days, 409 `name-taken` for a name you already use." + WHO
        ),
        request=ScopedTokenSerializer,
        responses={201: NewScopedTokenSerializer},
        examples=[
            request_example(
                {
                    "name": "ci-deploy",
                    "scopes": ["devices:read", "trails:write"],
                    "expires-in": 2592000,
                }
            ),
            answer_example({**LISTED, "token": "tht_Xq3v…"}, status=201),
        ],
    )
    def post(self, request):
        person = require_person(request)
        form = ScopedTokenSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        seconds = form.validated_data.get("expires_in")
        row, raw = tokens.issue(
            person,
            form.validated_data["name"],
            form.validated_data["scopes"],
            None if seconds is None else dt.timedelta(seconds=seconds),
        )
        answer = NewScopedTokenSerializer(row).data
        answer["token"] = raw
        return Response(answer, status=status.HTTP_201_CREATED)


class TokenView(APIView):
    @extend_schema(
        summary="Revoke a scoped token",
        description="Delete one of your tokens at once; it answers what was revoked. 404 for an"
        " id that is not one of your tokens." + WHO,
        responses={200: ScopedTokenSerializer},
        examples=[answer_example(LISTED)],
    )
    def delete(self, request, api_token: str):
        person = require_person(request)
        return Response(ScopedTokenSerializer(tokens.revoke(person, api_token)).data)
