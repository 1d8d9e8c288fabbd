"""``/devices/…`` and ``/logs/``: the Pantahub device API.

Views stay thin: find the device through ``devices.services`` (visibility,
then the right to act), validate, call a service, answer.
"""

from __future__ import annotations

from django.conf import settings
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from devices import services
from devices.api import logs as log_queries
from devices.api.parsers import LogBatchParser
from devices.api.serializers import (
    AutoTokenCreateSerializer,
    AutoTokenSerializer,
    ClaimSerializer,
    DeviceCreateSerializer,
    DeviceSerializer,
    DeviceUpdateSerializer,
    LogEntryInSerializer,
    LogEntrySerializer,
    LogPageSerializer,
    NewAutoTokenSerializer,
    RegisteredDeviceSerializer,
)
from devices.api.throttles import AUTO_TOKEN_HEADER, AnonymousRegistrationThrottle
from devices.models import AutoToken, Device
from devices.signing import requires_signatures
from portal import signing_keys
from portal.api.docs import (
    ACCOUNT_PRN,
    ANONYMOUS_401,
    DEVICE_ID,
    DEVICE_PRN,
    answer_example,
    request_example,
    throttled,
)
from portal.api.guards import require_device, require_login, require_person
from portal.auth import device_of, person_of
from portal.errors import DomainError, Forbidden

REF = OpenApiParameter("ref", str, OpenApiParameter.PATH, description="device id, prn or nick")

#: A claimed device as its owner sees it (the examples below vary it).
DEVICE = {
    "id": DEVICE_ID,
    "prn": DEVICE_PRN,
    "nick": "kiosk-lobby",
    "owner": ACCOUNT_PRN,
    "owner-nick": "alice",
    "public": False,
    "require-signatures": False,
    "description": "Lobby kiosk, building B",
    "user-meta": {"location": "lobby", "timezone": "Europe/Berlin"},
    "device-meta": {"pantavisor.arch": "aarch64/64/EL", "pantavisor.version": "019"},
    "time-created": "2024-05-31T16:08:37.104Z",
    "time-modified": "2024-06-02T09:12:05.881Z",
    "online": True,
    "last-seen": "2024-06-02T09:14:51.002Z",
}
LOG_ENTRY = {
    "id": "1841",
    "dev": DEVICE_PRN,
    "own": ACCOUNT_PRN,
    "src": "pantavisor.log",
    "msg": "starting update to revision 1",
    "lvl": "INFO",
    "tsec": 1717171717,
    "tnano": 0,
    "plat": "pantavisor",
    "rev": "1",
    "time": "2024-05-31T16:08:37Z",
    "time-created": "2024-05-31T16:08:38.410Z",
}
USER_META = {"location": "lobby", "timezone": "Europe/Berlin"}
DEVICE_META = {
    "pantavisor.arch": "aarch64/64/EL",
    "pantavisor.version": "019",
    "interfaces": {"eth0": ["192.168.1.23"]},
}
AUTO_TOKEN = {
    "id": "5f3c2b7d9e1a4c6b8d0f2e41",
    "prn": "prn:::devices-tokens:/5f3c2b7d9e1a4c6b8d0f2e41",
    "owner": ACCOUNT_PRN,
    "description": "factory line 2",
    "prefix": "thd_hCV_O_",
    "default-user-meta": {"batch": "2024-06"},
    "disabled": False,
    "time-created": "2024-06-01T08:00:00.000Z",
    "time-modified": "2024-06-01T08:00:00.000Z",
    "last-used": "2024-06-02T07:41:19.310Z",
    "use-count": 12,
}


def device_answer(request, device: Device) -> Response:
    return Response(DeviceSerializer(device, context={"request": request}).data)


class DeviceListView(APIView):
    """``GET`` lists devices; ``POST`` registers one (anonymously, as a user, or with a factory token)."""

    permission_classes = [AllowAny]
    throttle_classes = [AnonymousRegistrationThrottle]

    @extend_schema(
        summary="List your devices",
        description=(
            "A person gets the devices they own, a device gets itself; with"
            " `owner-nick`, anyone (anonymous too) gets that user's devices they may see"
            " (the public ones, or all of them for the owner). `nick=^<prefix>` keeps"
            " the nicks that start with the prefix, as `pvr` asks for them. Without"
            f" `owner-nick` a token is needed. {ANONYMOUS_401}"
        ),
        examples=[answer_example(DEVICE)],
        parameters=[
            OpenApiParameter("owner-nick", str, description="list this user's public devices"),
            OpenApiParameter(
                "nick", str, description="only this nick, or nicks starting with it: ^<prefix>"
            ),
        ],
        responses=DeviceSerializer(many=True),
    )
    def get(self, request):
        owner_nick = request.query_params.get("owner-nick")
        nick = request.query_params.get("nick")
        devices = Device.objects.select_related("owner").order_by("nick", "id")
        if owner_nick:
            devices = devices.visible_to(request.user).filter(owner__username=owner_nick)
        else:
            require_login(request)
            itself = device_of(request.user)
            if itself is not None:
                devices = devices.filter(id=itself.id)
            else:
                devices = devices.owned_by(request.user)
        if nick:
            devices = devices.nick_matching(nick)
        data = DeviceSerializer(devices, many=True, context={"request": request}).data
        return Response(data)

    @extend_schema(
        summary="Register a device",
        description=(
            "Create a device and answer it with its `secret`, shown this once; the device"
            " then logs in with its prn and secret. Anonymous (an unclaimed device, which"
            " shows its `challenge` until its owner claims it; limited per address, 429"
            " `throttled`), as a person (theirs at once), or with a factory token in"
            f" `{AUTO_TOKEN_HEADER}` (its owner's, with the token's default user-meta)."
            " A device cannot register another (403 `person-only`); a nick the owner"
            " already uses is a 409. Compatibility: Pantavisor posts no body at all (or"
            " `{}` from pantavisor-mocker) and needs a 200, not a 201, with `id`, `prn`,"
            " `secret` and `challenge`."
        ),
        examples=[
            request_example({}, "Pantavisor (no body, or {})"),
            request_example(
                {"nick": "kiosk-lobby", "description": "Lobby kiosk, building B"}, "A person"
            ),
            answer_example(
                {
                    **DEVICE,
                    "nick": "vivid-salmon",
                    "owner": "",
                    "owner-nick": "",
                    "challenge": "fjord-tundra-46",
                    "description": "",
                    "user-meta": {},
                    "device-meta": {},
                    "online": False,
                    "last-seen": None,
                    "secret": "gxZDHxyBgUH_7iIKIA93RFnEfBO8fcMU",
                },
                "An unclaimed device",
            ),
        ],
        request=DeviceCreateSerializer,
        responses={200: RegisteredDeviceSerializer, **throttled("anonymous registrations")},
        parameters=[
            OpenApiParameter(
                AUTO_TOKEN_HEADER,
                str,
                OpenApiParameter.HEADER,
                description="a factory auto-assign token: the device is owned by its owner",
            )
        ],
    )
    def post(self, request):
        if device_of(request.user) is not None:
            raise Forbidden("a device cannot register other devices", "person-only")
        form = DeviceCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        raw_token = request.headers.get(AUTO_TOKEN_HEADER)
        auto_token = services.auto_token_for(raw_token) if raw_token is not None else None
        device = services.register_device(
            owner=person_of(request.user),
            auto_token=auto_token,
            **form.validated_data,
        )
        answer = RegisteredDeviceSerializer(device, context={"request": request})
        return Response(answer.data)


class DeviceDetailView(APIView):
    """One device: read, edit (owner), claim (``PUT ?challenge=``), delete (owner)."""

    permission_classes = [AllowAny]

    @extend_schema(
        summary="Show a device",
        description=(
            "A device its caller may see: the owner, the device itself, or anyone when it"
            " is public (`user-meta` and `device-meta` only for the owner and the device)."
            " A device you may not see is a 404, as one that does not exist. "
            " When it requires signatures (its own `require-signatures`, or a pack it leads"
            " or follows that requires them: `require-signatures` is then true for them),"
            " the owner and the device itself also get"
            " `trusted-signers`, the PEMs of the keys and CA certificates the owner trusts"
            " (trail-agent checks a revision with them before it installs it). "
            f'{ANONYMOUS_401} Pantavisor reads `owner` here: `""` until it is claimed.'
        ),
        examples=[answer_example(DEVICE)],
        parameters=[REF],
        responses=DeviceSerializer,
    )
    def get(self, request, ref: str):
        device = services.get_visible_device(request.user, ref)
        answer = DeviceSerializer(device, context={"request": request}).data
        if (device.is_itself(request.user) or device.is_owned_by(request.user)) and (
            requires_signatures(device)
        ):
            # What the hub enforces: the device's own setting or a pack's (devices.signing).
            answer["require-signatures"] = True
            answer["trusted-signers"] = signing_keys.trusted_pems(device.owner)
        return Response(answer)

    @extend_schema(
        summary="Rename, describe or publish a device",
        description=(
            "The owner changes `nick`, `description`, `public` or `require-signatures` (accept"
            " only revisions signed by signers the owner trusts, `/auth/signing-keys`; see"
            " `POST /trails/{id}/steps`); the fields left out stay."
            " A nick the owner already uses is a 409; another person gets a 404 for a"
            " private device and a 403 `owner-only` for a public one, as does the device"
            f" itself. {ANONYMOUS_401}"
        ),
        examples=[
            request_example({"nick": "kiosk-lobby", "description": "Lobby kiosk, building B"}),
            answer_example(DEVICE),
        ],
        parameters=[REF],
        request=DeviceUpdateSerializer,
        responses=DeviceSerializer,
    )
    def patch(self, request, ref: str):
        require_login(request)
        device = services.get_owned_device(request.user, ref)
        form = DeviceUpdateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        return device_answer(request, services.update_device(device, **form.validated_data))

    @extend_schema(
        summary="Claim a device with its challenge",
        description=(
            "A person makes an unclaimed device theirs with the challenge it shows, in"
            " `?challenge=` (as pvr sends it) or in the body. No challenge is a 400"
            " `challenge-required`, a wrong one a 403 `bad-challenge` (and after too many,"
            " a 429 for an hour); a device already claimed is a 409 `already-claimed` to"
            " whoever may see it, a 404 to others. A device cannot claim (403"
            f" `person-only`). {ANONYMOUS_401}"
        ),
        examples=[
            request_example({"challenge": "fjord-tundra-46"}),
            answer_example(DEVICE, "The claimed device"),
        ],
        parameters=[
            REF,
            OpenApiParameter("challenge", str, description="the challenge the device shows"),
        ],
        request=ClaimSerializer,
        responses=DeviceSerializer,
    )
    def put(self, request, ref: str):
        person = require_person(request)
        challenge = request.query_params.get("challenge")
        if challenge is None and isinstance(request.data, dict):
            challenge = request.data.get("challenge")
        if challenge is not None and not isinstance(challenge, str):
            raise DomainError("challenge must be a string", "invalid", 400)
        device = services.claim_device(person, ref, challenge)
        return device_answer(request, device)

    @extend_schema(
        summary="Delete a device",
        description=(
            "The owner deletes a device with its trail, revisions and logs; the answer is"
            " the device as it was. Another person gets a 404"
            " (403 `owner-only` when the device is public), the device itself a 403."
            f" {ANONYMOUS_401}"
        ),
        examples=[answer_example(DEVICE, "The deleted device")],
        parameters=[REF],
        request=None,
        responses={200: DeviceSerializer},  # a 200 with the device, not drf's 204
    )
    def delete(self, request, ref: str):
        require_login(request)
        device = services.get_owned_device(request.user, ref)
        answer = DeviceSerializer(device, context={"request": request}).data
        services.delete_device(device)
        return Response(answer)


class DevicePublicView(APIView):
    """``PUT`` publishes a device, ``DELETE`` makes it private again (owner only)."""

    @extend_schema(
        summary="Make a device public",
        description=(
            "The owner publishes a device: anyone, anonymous too, may then see it, its"
            " revisions and their objects, clone it with pvr and fork it (never its"
            " metadata or secret). Another person gets a 404, the device itself a 403"
            f" `owner-only`. {ANONYMOUS_401}"
        ),
        examples=[answer_example({**DEVICE, "public": True})],
        parameters=[REF],
        request=None,
        responses=DeviceSerializer,
    )
    def put(self, request, ref: str):
        device = services.get_owned_device(request.user, ref)
        return device_answer(request, services.update_device(device, public=True))

    @extend_schema(
        summary="Make a device private",
        description=(
            "The owner makes a public device private again: only the owner and the device"
            " see it from then on. Another person gets a 404 (403 `owner-only` while it is"
            f" still public), the device itself a 403. {ANONYMOUS_401}"
        ),
        examples=[answer_example(DEVICE)],
        parameters=[REF],
        request=None,
        responses={200: DeviceSerializer},
    )
    def delete(self, request, ref: str):
        device = services.get_owned_device(request.user, ref)
        return device_answer(request, services.update_device(device, public=False))


class MetaView(APIView):
    """Read, replace (PUT) or merge into (PATCH) one metadata object of a device.

    The owner and the device itself read it; ``writer`` says who writes it.
    """

    field: services.MetaField

    def writer(self, user, ref: str) -> Device:
        raise NotImplementedError

    @extend_schema(parameters=[REF], responses=OpenApiTypes.OBJECT)
    def get(self, request, ref: str):
        device = services.get_device_for_owner_or_itself(request.user, ref)
        return Response(getattr(device, self.field))

    @extend_schema(parameters=[REF], request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT)
    def put(self, request, ref: str):
        device = self.writer(request.user, ref)
        return Response(services.write_meta(device, self.field, request.data, merge=False))

    @extend_schema(parameters=[REF], request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT)
    def patch(self, request, ref: str):
        device = self.writer(request.user, ref)
        return Response(services.write_meta(device, self.field, request.data, merge=True))


def _meta_docs(name: str, writer: str, example: dict, change: dict, compatibility: str):
    """Each method's documentation for one metadata object, ``name``, written by ``writer``."""
    readers = (
        "The owner and the device itself read it; anyone else who may see the device"
        " gets a 403 `private`,"
        f" others a 404. {ANONYMOUS_401}"
    )
    refusal = f"Only {writer} writes it; anyone else who may see the device gets a 403."
    return extend_schema_view(
        get=extend_schema(
            summary=f"Read a device's {name}",
            description=f"The device's `{name}`, a JSON object. {readers}",
            examples=[answer_example(example)],
        ),
        put=extend_schema(
            summary=f"Replace a device's {name}",
            description=(
                f"Replace the whole `{name}` object with the body and answer it. {refusal}"
                f" {compatibility}"
            ),
            examples=[request_example(example), answer_example(example)],
        ),
        patch=extend_schema(
            summary=f"Merge into a device's {name}",
            description=(
                f"Merge the body's top-level keys into `{name}`; a key set to null is"
                f" removed. The answer is the whole object after the merge. {refusal}"
            ),
            examples=[
                request_example(change),
                answer_example({k: v for k, v in {**example, **change}.items() if v is not None}),
            ],
        ),
    )


@_meta_docs(
    "user-meta",
    "the owner",
    USER_META,
    {"timezone": "Europe/Lisbon", "location": None},
    "Compatibility: Pantavisor only reads it, with a GET of the whole object.",
)
class UserMetaView(MetaView):
    """``user-meta``: the owner writes it, the device reads it."""

    field = "user_meta"

    def writer(self, user, ref: str) -> Device:
        return services.get_owned_device(user, ref)


@_meta_docs(
    "device-meta",
    "the device itself",
    DEVICE_META,
    {"pantavisor.version": "020", "interfaces": None},
    "Compatibility: Pantavisor PUTs the whole object each time it changes, never a PATCH.",
)
class DeviceMetaView(MetaView):
    """``device-meta``: the device alone writes it; its owner reads it."""

    field = "device_meta"

    def writer(self, user, ref: str) -> Device:
        return services.get_device_itself(user, ref)


TAGS = ["lobby", "building-b", "site:berlin"]


class DeviceTagsView(APIView):
    """``GET`` answers a device's tags; ``PUT`` replaces them (the owner only)."""

    @extend_schema(
        summary="Read a device's tags",
        description=(
            "The owner's labels of the device, a JSON list of strings (what a dynamic pack"
            " selects by: docs/packs.md). The owner and the device itself read them; anyone"
            " else who may see the device gets a 403 `private`, others a 404."
            f" {ANONYMOUS_401}"
        ),
        examples=[answer_example(TAGS)],
        parameters=[REF],
        responses=serializers.ListSerializer(child=serializers.CharField()),
    )
    def get(self, request, ref: str):
        device = services.get_device_for_owner_or_itself(request.user, ref)
        return Response(device.tags)

    @extend_schema(
        summary="Replace a device's tags",
        description=(
            "The owner replaces the device's tags with the body, a JSON list of strings,"
            " and gets them back as stored: each trimmed and lower-cased, 1 to 64 letters,"
            " digits and `. _ : -`, duplicates folded, at most 32 (else a 400 `not-a-list`,"
            " `bad-tag` or `too-many-tags`, and nothing changes). The owner's dynamic packs"
            " take the device in or let it go at once. Another person gets a 404 (403"
            f" `owner-only` for a public device), the device itself a 403. {ANONYMOUS_401}"
        ),
        examples=[
            request_example([" Lobby", "building-b", "site:berlin", "lobby"]),
            answer_example(TAGS),
        ],
        parameters=[REF],
        request=serializers.ListSerializer(child=serializers.CharField()),
        responses=serializers.ListSerializer(child=serializers.CharField()),
    )
    def put(self, request, ref: str):
        require_login(request)
        device = services.get_owned_device(request.user, ref)
        return Response(services.update_device(device, tags=request.data).tags)


class DeviceByNickView(APIView):
    """``GET /devices/np/<usernick>/<devicenick>``: a device by its owner's nick and its own."""

    permission_classes = [AllowAny]

    @extend_schema(
        summary="Find a device by owner and nick",
        description=(
            "The device `<devicenick>` of the user `<usernick>`, if the caller may see it:"
            " its owner, the device itself, or anyone (anonymous too) when it is public."
            " A device you may not see is a 404, as one that does not exist."
        ),
        examples=[answer_example({k: v for k, v in DEVICE.items() if "meta" not in k})],
        responses=DeviceSerializer,
    )
    def get(self, request, usernick: str, devicenick: str):
        device = (
            Device.objects.select_related("owner")
            .visible_to(request.user)
            .filter(owner__username=usernick, nick=devicenick)
            .first()
        )
        if device is None:
            raise Http404(f"no such device: {usernick}/{devicenick}")
        return device_answer(request, device)


class AutoTokenListView(APIView):
    """Factory auto-assign tokens of the caller: create one (shown once), list them."""

    @extend_schema(
        summary="List your factory tokens",
        description=(
            "The factory auto-assign tokens of the calling person, disabled ones"
            " included, with how often they were used; the token itself is never shown"
            " again, only its first characters (`prefix`). A device gets a 403"
            f" `person-only`. {ANONYMOUS_401}"
        ),
        examples=[answer_example(AUTO_TOKEN)],
        responses=AutoTokenSerializer(many=True),
    )
    def get(self, request):
        person = require_person(request)
        tokens = AutoToken.objects.filter(owner=person)
        return Response(AutoTokenSerializer(tokens, many=True).data)

    @extend_schema(
        summary="Create a factory token",
        description=(
            "A person creates a factory auto-assign token: a device that registers with it"
            f" in `{AUTO_TOKEN_HEADER}` is theirs at once, with `default-user-meta` as its"
            " user-meta. The answer's `token` is shown this once. A device gets a 403"
            f" `person-only`. {ANONYMOUS_401}"
        ),
        examples=[
            request_example(
                {"description": "factory line 2", "default-user-meta": {"batch": "2024-06"}}
            ),
            answer_example(
                {
                    **AUTO_TOKEN,
                    "last-used": None,
                    "use-count": 0,
                    "token": "thd_hCV_O_QY_16CnTOmLW5f51O1ALbbe-RNYo9vFO3oiCA",
                }
            ),
        ],
        request=AutoTokenCreateSerializer,
        responses=NewAutoTokenSerializer,
    )
    def post(self, request):
        person = require_person(request)
        form = AutoTokenCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        token, raw = services.create_auto_token(person, **form.validated_data)
        token.token = raw
        return Response(NewAutoTokenSerializer(token).data)


class AutoTokenDetailView(APIView):
    """``DELETE /devices/tokens/<id>`` disables a token (devices can no longer register with it)."""

    def _token(self, request, token_id: str) -> AutoToken:
        person = require_person(request)
        token = AutoToken.objects.filter(owner=person, id=token_id).first()
        if token is None:
            raise Http404(f"no such token: {token_id}")
        return token

    @extend_schema(
        summary="Show a factory token",
        description=(
            "One of the calling person's factory tokens (never the token itself). Someone"
            " else's token is a 404; a device gets a 403 `person-only`. "
            f"{ANONYMOUS_401}"
        ),
        examples=[answer_example(AUTO_TOKEN)],
        responses=AutoTokenSerializer,
    )
    def get(self, request, token_id: str):
        return Response(AutoTokenSerializer(self._token(request, token_id)).data)

    @extend_schema(
        summary="Disable a factory token",
        description=(
            "The person who made it disables a factory token: devices can no longer"
            " register with it; those that did stay theirs. The token is kept, with"
            " `disabled` true. Someone else's token is a 404; a device gets a 403"
            f" `person-only`. {ANONYMOUS_401}"
        ),
        examples=[answer_example({**AUTO_TOKEN, "disabled": True})],
        request=None,
        responses={200: AutoTokenSerializer},
    )
    def delete(self, request, token_id: str):
        token = services.disable_auto_token(self._token(request, token_id))
        return Response(AutoTokenSerializer(token).data)


class LogsView(APIView):
    """``POST`` (a device) stores log entries; ``GET`` (a person) pages through them."""

    parser_classes = [LogBatchParser]

    @extend_schema(
        summary="Send log entries (a device)",
        description=(
            "The calling device stores log lines: one entry object or a list of them, each"
            " with at least `msg`; a missing `tsec` means now, and over-long text is"
            " clipped rather than refused, so that a device never resends a batch for"
            " ever. More entries than `DEVICE_LOG_BATCH_MAX_ENTRIES` is a 413 `too-large`."
            f" Only a device may call it (a person gets a 403 `device-only`). {ANONYMOUS_401}"
            " Compatibility: Pantavisor posts a list and needs a 200."
        ),
        examples=[
            request_example(
                {
                    "src": "pantavisor.log",
                    "msg": "starting update to revision 1",
                    "lvl": "INFO",
                    "tsec": 1717171717,
                    "tnano": 0,
                    "plat": "pantavisor",
                    "rev": "1",
                },
                "A list of one entry",
            ),
            answer_example(LOG_ENTRY),
        ],
        request=LogEntryInSerializer(many=True),
        responses=LogEntrySerializer(many=True),
    )
    def post(self, request):
        device = require_device(request)
        body = request.data
        entries = body if isinstance(body, list) else [body]
        limit = settings.DEVICE_LOG_BATCH_MAX_ENTRIES
        if len(entries) > limit:
            raise DomainError(
                f"{len(entries)} log entries in one request; the limit is {limit}",
                "too-large",
                413,
            )
        if not all(isinstance(entry, dict) for entry in entries):
            raise DomainError("send a log entry object or a list of them", "not-an-object", 400)
        form = LogEntryInSerializer(data=entries, many=True)
        form.is_valid(raise_exception=True)
        created = services.post_logs(device, form.validated_data)
        owner_prn = device.owner.prn if device.owner_id else ""
        context = {"owner_prn": owner_prn}
        return Response(LogEntrySerializer(created, many=True, context=context).data)

    @extend_schema(
        summary="Read your devices' logs",
        description=(
            "A page of the log entries of the calling person's devices, newest first"
            " unless `sort=time`, filtered by device, level, source and time. Send the"
            " answer's `next-cursor` (with the same filters) for the next page; it is"
            " null on the last one. Naming a device that is not yours in `dev` is a 404"
            " (403 when it is public), a bad filter or cursor a 400. A device gets a 403"
            f" `person-only`. {ANONYMOUS_401}"
        ),
        examples=[
            answer_example(
                {
                    "entries": [LOG_ENTRY],
                    "next-cursor": "eyJ0IjoiMjAyNC0wNS0zMVQxNjowODozNyswMDowMCJ9:1sDm4v",
                }
            )
        ],
        parameters=log_queries.PARAMETERS,
        responses=LogPageSerializer,
    )
    def get(self, request):
        person = require_person(request)
        page = log_queries.page(request.user, request.query_params)
        entries = LogEntrySerializer(
            page.entries, many=True, context={"owner_prn": person.prn}
        ).data
        return Response({"entries": entries, "next-cursor": page.next_cursor})
