"""``/auth/signing-keys``: the signers a person trusts (portal/signing_keys.py)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from portal import signing_keys
from portal.api.docs import ANONYMOUS_401, answer_example, request_example
from portal.api.guards import require_person
from portal.api.serializers import HyphenatedFieldsMixin
from portal.errors import DomainError
from portal.models import SigningKey

KEY_ID = "5f3c2d4e6a8b0c1d2e3f4a6c"
PEM = (
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEzmz0pXRY/IFPFFooXNwu7rNb+tpN\n"
    "QKLXT8+MWXodtogy+4ACDDQAIIuCnVfP2sy929C9LS2mO6sZARza0P0kMg==\n"
    "-----END PUBLIC KEY-----\n"
)
LISTED = {
    "id": KEY_ID,
    "name": "release signer",
    "kind": "key",
    "fingerprint": "df0584ed67ad75ed9e859ba000ea990ea0bb77c06eae56ec3e808266577c32a8",
    "pem": PEM,
    "user": None,
    "time-created": "2026-12-06T10:00:00Z",
}
WHO = (
    " For a person logged in with a password (a login token or a web session): a scoped"
    " token cannot read or change them (403 `scope-login-only`), a device gets a 403"
    " `person-only`. " + ANONYMOUS_401
)


class SigningKeySerializer(HyphenatedFieldsMixin, serializers.Serializer):
    id = serializers.CharField(read_only=True)
    name = serializers.CharField(max_length=100)
    kind = serializers.ChoiceField(
        choices=[kind for kind, _ in SigningKey.KINDS],
        read_only=True,
        help_text="`key` (a public key), `cert` (a CA certificate) or `user` (another user's keys)",
    )
    fingerprint = serializers.CharField(
        read_only=True,
        help_text="SHA-256 (hex) of the key's SubjectPublicKeyInfo; empty for `user`",
    )
    pem = serializers.CharField(
        required=False,
        max_length=signing_keys.MAX_PEM,
        help_text="One PEM block: a PUBLIC KEY or a CERTIFICATE (never a private key)",
    )
    user = serializers.CharField(
        required=False,
        allow_null=True,
        source="trusted_user.username",
        help_text="Instead of `pem`: trust the keys this user uploads",
    )
    time_created = serializers.DateTimeField(read_only=True)


class SigningKeysView(APIView):
    @extend_schema(
        summary="List the signers you trust",
        description="Your public keys, CA certificates and trusted users, newest first."
        " A device that requires signatures accepts revisions signed by any of them." + WHO,
        responses=SigningKeySerializer(many=True),
        examples=[answer_example([LISTED])],
    )
    def get(self, request):
        person = require_person(request)
        rows = signing_keys.signing_keys_of(person)
        return Response(SigningKeySerializer(rows, many=True).data)

    @extend_schema(
        summary="Trust a signing key, a CA certificate or a user",
        description=(
            "Send `name` and either `pem` (one PEM block: a `PUBLIC KEY`, RSA or EC P-256 /"
            " P-384, or a `CERTIFICATE` to trust as a CA, signers included) or `user` (trust"
            " the keys and certificates that user uploads, as they change). 400 `private-key`"
            " for a private key (it is not stored), 400 `bad-pem` for anything else that is"
            " not one readable key or certificate, 400 `unknown-user`, 409 `already-trusted`." + WHO
        ),
        request=SigningKeySerializer,
        responses={201: SigningKeySerializer},
        examples=[
            request_example({"name": "release signer", "pem": PEM}, "A public key"),
            request_example({"name": "alice", "user": "alice"}, "Another user's keys"),
            answer_example(LISTED, status=201),
        ],
    )
    def post(self, request):
        person = require_person(request)
        form = SigningKeySerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        name, pem = data["name"], data.get("pem")
        username = data.get("trusted_user", {}).get("username")
        if (pem is None) == (username is None):
            raise DomainError("send either pem or user", "pem-or-user")
        if pem is not None:
            row = signing_keys.add_pem(person, name, pem)
        else:
            row = signing_keys.trust_user(person, name, username)
        return Response(SigningKeySerializer(row).data, status=status.HTTP_201_CREATED)


class SigningKeyView(APIView):
    @extend_schema(
        summary="Stop trusting a signer",
        description="Delete one entry at once; it answers what was deleted. Revisions posted"
        " already stay; new ones signed only by it are refused by devices that require"
        " signatures. 404 for an id that is not one of yours." + WHO,
        responses={200: SigningKeySerializer},
        examples=[answer_example(LISTED)],
    )
    def delete(self, request, key_id: str):
        person = require_person(request)
        return Response(SigningKeySerializer(signing_keys.remove(person, key_id)).data)
