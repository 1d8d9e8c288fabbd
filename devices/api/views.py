"""``/devices/…`` and ``/logs/``: the Pantahub device API.

Views stay thin: find the device through ``devices.services`` (visibility,
then the right to act), validate, call a service, answer.
"""

from __future__ import annotations

from django.conf import settings
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
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
from portal.api.guards import require_device, require_login, require_person
from portal.auth import device_of, person_of
from portal.errors import DomainError, Forbidden

REF = OpenApiParameter("ref", str, OpenApiParameter.PATH, description="device id, prn or nick")


def device_answer(request, device: Device) -> Response:
    return Response(DeviceSerializer(device, context={"request": request}).data)


class DeviceListView(APIView):
    """``GET`` lists devices; ``POST`` registers one (anonymously, as a user, or with a factory token)."""

    permission_classes = [AllowAny]
    throttle_classes = [AnonymousRegistrationThrottle]

    @extend_schema(
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
        request=DeviceCreateSerializer,
        responses=RegisteredDeviceSerializer,
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

    @extend_schema(parameters=[REF], responses=DeviceSerializer)
    def get(self, request, ref: str):
        return device_answer(request, services.get_visible_device(request.user, ref))

    @extend_schema(parameters=[REF], request=DeviceUpdateSerializer, responses=DeviceSerializer)
    def patch(self, request, ref: str):
        require_login(request)
        device = services.get_owned_device(request.user, ref)
        form = DeviceUpdateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        return device_answer(request, services.update_device(device, **form.validated_data))

    @extend_schema(
        summary="Claim an unclaimed device with its challenge",
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

    @extend_schema(parameters=[REF], request=None, responses=DeviceSerializer)
    def delete(self, request, ref: str):
        require_login(request)
        device = services.get_owned_device(request.user, ref)
        answer = DeviceSerializer(device, context={"request": request}).data
        device.delete()
        return Response(answer)


class DevicePublicView(APIView):
    """``PUT`` publishes a device, ``DELETE`` makes it private again (owner only)."""

    @extend_schema(parameters=[REF], request=None, responses=DeviceSerializer)
    def put(self, request, ref: str):
        device = services.get_owned_device(request.user, ref)
        return device_answer(request, services.update_device(device, public=True))

    @extend_schema(parameters=[REF], request=None, responses=DeviceSerializer)
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

    @extend_schema(
        parameters=[REF],
        request=OpenApiTypes.OBJECT,
        responses=OpenApiTypes.OBJECT,
        description="Merge top-level keys; a key set to null is removed.",
    )
    def patch(self, request, ref: str):
        device = self.writer(request.user, ref)
        return Response(services.write_meta(device, self.field, request.data, merge=True))


class UserMetaView(MetaView):
    """``user-meta``: the owner writes it, the device reads it."""

    field = "user_meta"

    def writer(self, user, ref: str) -> Device:
        return services.get_owned_device(user, ref)


class DeviceMetaView(MetaView):
    """``device-meta``: the device alone writes it; its owner reads it."""

    field = "device_meta"

    def writer(self, user, ref: str) -> Device:
        return services.get_device_itself(user, ref)


class DeviceByNickView(APIView):
    """``GET /devices/np/<usernick>/<devicenick>``: a device by its owner's nick and its own."""

    permission_classes = [AllowAny]

    @extend_schema(responses=DeviceSerializer)
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

    @extend_schema(responses=AutoTokenSerializer(many=True))
    def get(self, request):
        person = require_person(request)
        tokens = AutoToken.objects.filter(owner=person)
        return Response(AutoTokenSerializer(tokens, many=True).data)

    @extend_schema(request=AutoTokenCreateSerializer, responses=NewAutoTokenSerializer)
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

    @extend_schema(responses=AutoTokenSerializer)
    def get(self, request, token_id: str):
        return Response(AutoTokenSerializer(self._token(request, token_id)).data)

    @extend_schema(request=None, responses=AutoTokenSerializer)
    def delete(self, request, token_id: str):
        token = services.disable_auto_token(self._token(request, token_id))
        return Response(AutoTokenSerializer(token).data)


class LogsView(APIView):
    """``POST`` (a device) stores log entries; ``GET`` (a person) pages through them."""

    parser_classes = [LogBatchParser]

    @extend_schema(
        request=LogEntryInSerializer(many=True),
        responses=LogEntrySerializer(many=True),
        description="One entry or a list of them. The entries belong to the calling device.",
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

    @extend_schema(parameters=log_queries.PARAMETERS, responses=LogPageSerializer)
    def get(self, request):
        person = require_person(request)
        page = log_queries.page(request.user, request.query_params)
        entries = LogEntrySerializer(
            page.entries, many=True, context={"owner_prn": person.prn}
        ).data
        return Response({"entries": entries, "next-cursor": page.next_cursor})
