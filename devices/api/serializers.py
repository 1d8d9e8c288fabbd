"""Devices on the wire: the reference's hyphenated field names (``user-meta``, ``time-created``)."""

from __future__ import annotations

from rest_framework import serializers

from devices.models import AutoToken, Device, DeviceLog
from portal.api.serializers import HyphenatedFieldsMixin
from portal.models import nick_validator
from trail import wire


class DeviceSerializer(HyphenatedFieldsMixin, serializers.Serializer):
    """A device as ``context["request"].user`` may see it.

    ``user-meta``, ``device-meta`` and ``tags`` are shown only to the owner and the
    device itself; ``challenge`` only while the device is unclaimed, to the
    device itself. ``context["creator"]`` (the registration answer) shows all. The secret never appears
    here (see :class:`RegisteredDeviceSerializer`). Fetch devices with
    ``select_related("owner")`` to keep lists at one query.
    """

    id = serializers.CharField(read_only=True)
    prn = serializers.CharField(read_only=True)
    nick = serializers.CharField(read_only=True)
    owner = serializers.SerializerMethodField()
    owner_nick = serializers.SerializerMethodField()
    # Not read_only, so that the schema marks these three as optional: they are
    # left out for callers who may not see them. This serializer never reads input.
    challenge = serializers.CharField(required=False)
    public = serializers.BooleanField(read_only=True)
    require_signatures = serializers.BooleanField(read_only=True)
    # Only in GET /devices/<id>, to the owner and the device itself, when the device
    # requires signatures (DeviceDetailView): trail-agent checks with them.
    trusted_signers = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="PEM public keys and CA certificates the owner trusts",
    )
    description = serializers.CharField(read_only=True)
    user_meta = serializers.JSONField(required=False)
    device_meta = serializers.JSONField(required=False)
    tags = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="the owner's tags (`PUT /devices/{ref}/tags`), what dynamic packs select by",
    )
    time_created = serializers.DateTimeField(read_only=True)
    time_modified = serializers.DateTimeField(read_only=True)
    online = serializers.BooleanField(read_only=True)
    last_seen = serializers.DateTimeField(read_only=True, allow_null=True)

    PRIVATE = ("user-meta", "device-meta", "tags")

    def get_owner(self, device: Device) -> str:
        return device.owner.prn if device.owner_id else ""

    def get_owner_nick(self, device: Device) -> str:
        return device.owner.username if device.owner_id else ""

    def to_representation(self, device: Device) -> dict:
        data = super().to_representation(device)
        request = self.context.get("request")
        viewer = request.user if request is not None else None
        creator = self.context.get("creator", False)
        if not (creator or device.is_owned_by(viewer) or device.is_itself(viewer)):
            for key in self.PRIVATE:
                data.pop(key, None)
        show_challenge = creator or device.is_itself(viewer)
        if device.owner_id or not device.challenge or not show_challenge:
            data.pop("challenge", None)
        return data


class RegisteredDeviceSerializer(DeviceSerializer):
    """The answer to ``POST /devices/``: the only time the device's secret is shown."""

    secret = serializers.CharField(read_only=True)

    def to_representation(self, device: Device) -> dict:
        # Whoever registered the device sees all of it, once.
        self.context["creator"] = True
        return super().to_representation(device)


class DeviceCreateSerializer(HyphenatedFieldsMixin, serializers.Serializer):
    """``POST /devices/``: everything optional; Pantavisor sends its own secret."""

    nick = serializers.CharField(required=False, max_length=63, validators=[nick_validator])
    secret = serializers.CharField(
        required=False, min_length=1, max_length=256, trim_whitespace=False
    )
    description = serializers.CharField(required=False, allow_blank=True, max_length=4000)
    user_meta = serializers.JSONField(required=False)


class DeviceUpdateSerializer(HyphenatedFieldsMixin, serializers.Serializer):
    """``PATCH /devices/<id>``: the owner renames, describes, publishes a device, or
    makes it require signatures."""

    nick = serializers.CharField(required=False, max_length=63, validators=[nick_validator])
    description = serializers.CharField(required=False, allow_blank=True, max_length=4000)
    public = serializers.BooleanField(required=False)
    require_signatures = serializers.BooleanField(
        required=False,
        help_text="Accept only revisions signed by signers the owner trusts (/auth/signing-keys)",
    )


class ClaimSerializer(serializers.Serializer):
    """The challenge may come in the body as well as in ``?challenge=``."""

    challenge = serializers.CharField(required=False, max_length=64)


class AutoTokenSerializer(HyphenatedFieldsMixin, serializers.ModelSerializer):
    """A factory token as listed: never the token itself, only its first characters."""

    owner = serializers.SerializerMethodField()

    class Meta:
        model = AutoToken
        fields = [
            "id",
            "prn",
            "owner",
            "description",
            "prefix",
            "default_user_meta",
            "disabled",
            "time_created",
            "time_modified",
            "last_used",
            "use_count",
        ]
        read_only_fields = fields

    def get_owner(self, token: AutoToken) -> str:
        return wire.account_prn(token.owner_id)


class NewAutoTokenSerializer(AutoTokenSerializer):
    """The answer to ``POST /devices/tokens``: the only time ``token`` is shown."""

    token = serializers.CharField(read_only=True)

    class Meta(AutoTokenSerializer.Meta):
        fields = [*AutoTokenSerializer.Meta.fields, "token"]
        read_only_fields = fields


class AutoTokenCreateSerializer(HyphenatedFieldsMixin, serializers.Serializer):
    description = serializers.CharField(required=False, allow_blank=True, max_length=200)
    default_user_meta = serializers.JSONField(required=False)


class LogEntryInSerializer(serializers.Serializer):
    """One entry as a device posts it; a missing ``tsec`` means "now".

    Text fields have no length limit here: a device cannot fix a long line and
    would resend the batch for ever, so ``services.post_logs`` clips them. The
    batch size limits bound them anyway.
    """

    src = serializers.CharField(required=False, allow_blank=True, default="")
    msg = serializers.CharField(allow_blank=True, trim_whitespace=False)
    lvl = serializers.CharField(required=False, allow_blank=True, default="")
    tsec = serializers.IntegerField(required=False, min_value=0, max_value=253402300799)
    tnano = serializers.IntegerField(required=False, min_value=0, max_value=999_999_999)
    plat = serializers.CharField(required=False, allow_blank=True, default="")
    rev = serializers.CharField(required=False, allow_blank=True, default="")


class LogEntrySerializer(HyphenatedFieldsMixin, serializers.ModelSerializer):
    """A stored entry, as in the reference's ``logs.Entry`` (plus ``time``, its ISO form)."""

    id = serializers.CharField(read_only=True)
    dev = serializers.SerializerMethodField()
    own = serializers.SerializerMethodField()

    class Meta:
        model = DeviceLog
        fields = [
            "id",
            "dev",
            "own",
            "src",
            "msg",
            "lvl",
            "tsec",
            "tnano",
            "plat",
            "rev",
            "time",
            "time_created",
        ]
        read_only_fields = fields

    def get_dev(self, entry: DeviceLog) -> str:
        return wire.device_prn(entry.device_id)

    def get_own(self, entry: DeviceLog) -> str:
        # Listed entries all belong to the caller's devices (DeviceLog.objects.visible_to).
        owner_prn = self.context.get("owner_prn")
        if owner_prn is not None:
            return owner_prn
        owner_id = entry.device.owner_id
        return wire.account_prn(owner_id) if owner_id else ""


class LogPageSerializer(HyphenatedFieldsMixin, serializers.Serializer):
    """The answer to ``GET /logs/`` (for the schema)."""

    entries = LogEntrySerializer(many=True)
    next_cursor = serializers.CharField(allow_null=True)
