"""Trails, steps, objects and pvr remotes on the wire (the reference's hyphenated names)."""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Any

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from portal.api.serializers import HyphenatedFieldsMixin
from revisions.storage.base import SHA256_RE
from trail import wire
from trail.state import required_shas


class WireSerializer(HyphenatedFieldsMixin, serializers.Serializer):
    pass


# --- Steps ------------------------------------------------------------------


#: ``progress-time`` of a step no device reported on: the reference sets the Unix
#: epoch on every new step (pantahub-base trails/post-trail-steps.go:170), never null.
NEVER = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@extend_schema_field(OpenApiTypes.DATETIME)
class TimeField(serializers.DateTimeField):
    """A time string, always: the epoch stands for "never" (Go's time.Time has no null)."""

    def get_attribute(self, instance):
        return super().get_attribute(instance) or NEVER


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _object_progress(value: Any) -> dict[str, Any]:
    """``trailmodels.ObjectProgress``: four counts, and a name and id when known."""
    value = value if isinstance(value, dict) else {}
    shown: dict[str, Any] = {
        name: value[name]
        for name in ("object_name", "object_id")
        if isinstance(value.get(name), str) and value[name]
    }
    for name in ("total_size", "start_time", "current_time", "total_downloaded"):
        shown[name] = _count(value.get(name))
    return shown


@extend_schema_field(OpenApiTypes.OBJECT)
class DownloadsField(serializers.JSONField):
    """``trailmodels.DownloadProgress``: ``total`` always, ``objects`` a list or null,
    whatever the device sent (the reference decodes it into those types)."""

    def run_validation(self, data=serializers.empty):
        return super().run_validation({} if data is None else data)

    def to_internal_value(self, data) -> dict:
        if not isinstance(data, dict):
            raise serializers.ValidationError("downloads must be a JSON object", code="not-object")
        return super().to_internal_value(data)

    def to_representation(self, value) -> dict[str, Any]:
        value = value if isinstance(value, dict) else {}
        objects = value.get("objects")
        return {
            "total": _object_progress(value.get("total")),
            "objects": [_object_progress(o) for o in objects]
            if isinstance(objects, list)
            else None,
        }


class ReportText(serializers.CharField):
    """Text of a progress report; a null is empty (a device's final report must not be
    refused for its message, or its step would stay pending)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(allow_blank=True, default="", trim_whitespace=False, **kwargs)

    def run_validation(self, data=serializers.empty):
        return super().run_validation("" if data is None else data)


class ProgressSerializer(WireSerializer):
    """``trailmodels.StepProgress``: what a device reports, and what everyone reads.

    Besides the reference's fields, Pantavisor's ``retries`` and ``logs``
    (pantavisor update/update_progress.c ``_ser_progress``) are kept and sent
    back: Pantavisor reads both from the hub's progress when it has none on
    disk (``pv_update_progress_parse``).
    """

    status = serializers.CharField(max_length=16)
    progress = serializers.IntegerField(min_value=0, max_value=100, default=0)
    status_msg = ReportText(max_length=10_000)
    log = ReportText(max_length=100_000)
    logs = ReportText(max_length=100_000)
    retries = serializers.IntegerField(min_value=0, max_value=1_000_000, default=0)
    downloads = DownloadsField(default=dict)
    data = serializers.JSONField(source="progress_data", default=None, allow_null=True)


class StepSerializer(WireSerializer):
    """``trailmodels.Step``, every field the reference sends, with its types.
    ``context["device"]`` is the trail's device (owner loaded)."""

    id = serializers.CharField(source="wire_id")
    owner = serializers.SerializerMethodField()
    device = serializers.SerializerMethodField()
    trail_id = serializers.CharField()
    rev = serializers.IntegerField()
    commit_msg = serializers.CharField()
    committer = serializers.SerializerMethodField()
    state = serializers.JSONField()
    state_sha = serializers.CharField()
    meta = serializers.JSONField()
    progress = serializers.SerializerMethodField()
    progress_time = TimeField()
    step_time = TimeField(source="time_created")
    garbage = serializers.SerializerMethodField(method_name="get_false")
    time_created = TimeField()
    time_modified = TimeField()

    def get_fields(self):
        # The reference spells these two with underscores on the wire. Its bookkeeping
        # flags are always false here: Trailhub deletes instead of marking garbage, and
        # publishes without a later pass.
        return {
            **super().get_fields(),
            "used_objects": serializers.SerializerMethodField(method_name="get_used"),
            "mark_public_processed": serializers.SerializerMethodField(method_name="get_false"),
        }

    def _device(self, step):
        return self.context.get("device") or step.trail.device

    def get_owner(self, step) -> str:
        device = self._device(step)
        return device.owner.prn if device.owner_id else ""

    def get_device(self, step) -> str:
        return wire.device_prn(step.trail_id)

    def get_committer(self, step) -> str:
        return step.author.prn if step.author_id else ""

    def get_false(self, step) -> bool:
        return False

    def get_used(self, step) -> list[str]:
        return sorted(required_shas(step.state))

    @extend_schema_field(ProgressSerializer)
    def get_progress(self, step) -> dict:
        return ProgressSerializer(step).data


class StepPostSerializer(WireSerializer):
    """The body of ``POST /trails/<id>/steps``."""

    rev = serializers.IntegerField(min_value=-1, default=-1)
    commit_msg = serializers.CharField(
        max_length=10_000, allow_blank=True, default="", trim_whitespace=False
    )
    # Any JSON here: trail.state.validate_state says what is wrong with it.
    state = serializers.JSONField(allow_null=True)
    meta = serializers.JSONField(default=dict)

    def validate_meta(self, value: Any) -> dict:
        if not isinstance(value, dict):
            raise serializers.ValidationError("meta must be a JSON object", code="not-object")
        return value


class TrailSerializer(WireSerializer):
    """``trailmodels.Trail``. Attach ``factory_steps`` (rev 0) to avoid a query per trail."""

    id = serializers.CharField()
    owner = serializers.SerializerMethodField()
    device = serializers.SerializerMethodField()
    factory_state = serializers.SerializerMethodField()
    last_touched = serializers.DateTimeField()
    time_created = serializers.DateTimeField()

    def get_owner(self, trail) -> str:
        return trail.device.owner.prn if trail.device.owner_id else ""

    def get_device(self, trail) -> str:
        return trail.device.prn

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_factory_state(self, trail) -> dict:
        steps = getattr(trail, "factory_steps", None)
        if steps is None:
            steps = list(trail.steps.filter(rev=0))
        return steps[0].state if steps else {}


class TrailSummarySerializer(WireSerializer):
    """``trailmodels.TrailSummary``: where a device is, from its newest reported revision."""

    device = serializers.CharField()
    device_nick = serializers.CharField()
    deviceid = serializers.CharField()
    public = serializers.BooleanField()
    revision = serializers.IntegerField()
    running_revision = serializers.IntegerField(allow_null=True)
    progress_revision = serializers.IntegerField(allow_null=True)
    progress = serializers.IntegerField()
    status = serializers.CharField()
    status_msg = serializers.CharField()
    state_sha = serializers.CharField()
    step_time = TimeField()
    progress_time = TimeField()
    timestamp = serializers.DateTimeField()
    trail_touched_time = serializers.DateTimeField()


class PvrRemoteSerializer(WireSerializer):
    """``trailmodels.PvrRemote``: where pvr gets a revision and posts the next one."""

    pvr_spec = serializers.CharField()
    json_get_url = serializers.CharField()
    json_key = serializers.CharField()
    objects_endpoint = serializers.CharField()
    post_url = serializers.CharField()
    post_fields = serializers.ListField(child=serializers.CharField())
    post_fields_opt = serializers.ListField(child=serializers.CharField())
    step_get_url = serializers.CharField()


# --- Objects ----------------------------------------------------------------


@extend_schema_field(OpenApiTypes.STR)
class SizeField(serializers.Field):
    """A byte count sent as a string (the wire's ``size``) or a number."""

    default_error_messages = {"invalid": "size must be a whole number of bytes, 0 or more"}

    def to_internal_value(self, data) -> int:
        if isinstance(data, bool):
            self.fail("invalid")
        if isinstance(data, int):
            value = data
        elif isinstance(data, str) and data.isascii() and data.isdigit() and len(data) < 20:
            value = int(data)
        else:
            self.fail("invalid")
        if value < 0:
            self.fail("invalid")
        return value

    def to_representation(self, value) -> str:
        return str(value)


class ObjectRequestSerializer(WireSerializer):
    """The body of ``POST /objects/``: announce an object to upload."""

    objectname = serializers.CharField(max_length=255, allow_blank=True, default="")
    sha256sum = serializers.CharField(max_length=64)
    size = SizeField(required=False)
    sizeint = serializers.IntegerField(min_value=0, required=False)
    mime_type = serializers.CharField(max_length=127, allow_blank=True, default="")

    def validate_sha256sum(self, value: str) -> str:
        if not SHA256_RE.match(value):
            raise serializers.ValidationError(
                "sha256sum must be 64 lowercase hex characters", code="bad-sha"
            )
        return value

    def validate_objectname(self, value: str) -> str:
        # A label, usually the full state key ("bsp/kernel.img": Pantavisor's
        # updater.c and pvr's repolib.go send it); never a storage path.
        if any(unicodedata.category(char) == "Cc" for char in value):
            raise serializers.ValidationError(
                "objectname must not contain NUL or other control characters", code="bad-name"
            )
        return value

    def validate(self, attrs: dict) -> dict:
        if "size" not in attrs:
            if "sizeint" not in attrs:
                raise serializers.ValidationError({"size": "size is required"}, code="required")
            attrs["size"] = attrs["sizeint"]
        elif "sizeint" in attrs and attrs["sizeint"] != attrs["size"]:
            raise serializers.ValidationError({"sizeint": "size and sizeint disagree"})
        attrs.pop("sizeint", None)
        return attrs


class ObjectSerializer(WireSerializer):
    """``objects.Object``, from a :class:`revisions.services.ObjectView`."""

    id = serializers.CharField(source="sha256")
    storage_id = serializers.CharField(source="sha256")
    owner = serializers.CharField(source="owner_prn")
    objectname = serializers.CharField()
    sha256sum = serializers.CharField(source="sha256")
    size = SizeField()
    sizeint = serializers.IntegerField(source="size")
    mime_type = serializers.CharField()
    time_created = serializers.DateTimeField()
    time_modified = serializers.DateTimeField()


class ObjectWithAccessSerializer(ObjectSerializer):
    """``objects.ObjectWithAccess``: an object and its signed URLs.

    ``context`` holds ``puturl``, ``geturl``, ``now`` and ``expires``;
    a URL that does not apply is an empty string.
    """

    signed_puturl = serializers.SerializerMethodField()
    signed_geturl = serializers.SerializerMethodField()
    now = serializers.SerializerMethodField()
    expire_time = serializers.SerializerMethodField()

    def _urls(self, view) -> dict:
        return self.context["urls"](view)

    def get_signed_puturl(self, view) -> str:
        return self._urls(view)["put"]

    def get_signed_geturl(self, view) -> str:
        return self._urls(view)["get"]

    def get_now(self, view) -> str:
        return serializers.DateTimeField().to_representation(
            self.context.get("now", timezone.now())
        )

    def get_expire_time(self, view) -> str:
        return serializers.DateTimeField().to_representation(self.context["expires"])
