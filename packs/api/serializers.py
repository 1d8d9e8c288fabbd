"""Packs on the wire, in the API's style: hyphenated field names, ids as 24-hex strings."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from packs import rollout as ro
from packs.models import WAVE_SIZE_MAX, WAVE_TIMEOUT_MAX, WAVE_TIMEOUT_MIN, Pack
from portal.api.serializers import HyphenatedFieldsMixin
from portal.models import nick_validator
from trail import status as st


class WireSerializer(HyphenatedFieldsMixin, serializers.Serializer):
    """Fields declared with underscores, on the wire with hyphens."""


def _status(choices, **kwargs) -> serializers.CharField:
    """A status, documented by its values. Not an enum in the schema: the wire has several
    ``status`` fields with different values, which named enum components would mix up."""
    help_text = kwargs.pop("help_text", "")
    values = "one of " + ", ".join(choices)
    return serializers.CharField(
        help_text=f"{help_text}: {values}" if help_text else values, **kwargs
    )


# --- Input ---------------------------------------------------------------------


class PackSettingsSerializer(WireSerializer):
    """The rollout settings, with their ranges (a value out of range is a 400 naming it)."""

    canary_share = serializers.FloatField(
        min_value=0.0,
        max_value=1.0,
        help_text="share of the followers (0-1) in the first wave, the canary; 0: no canary",
    )
    wave_size = serializers.IntegerField(
        min_value=0,
        max_value=WAVE_SIZE_MAX,
        help_text="followers per wave after the canary; 0: all of them at once",
    )
    failure_threshold = serializers.FloatField(
        min_value=0.0,
        max_value=1.0,
        help_text="a wave whose share (0-1) of ERROR/WONTGO is over this pauses the rollout",
    )
    wave_timeout = serializers.IntegerField(
        min_value=WAVE_TIMEOUT_MIN,
        max_value=WAVE_TIMEOUT_MAX,
        help_text="seconds a wave waits for its devices to reach a final status",
    )
    require_signatures = serializers.BooleanField(
        help_text="the leader and the followers take only revisions whose every key is signed"
        " by a signer the owner trusts (/auth/signing-keys); a delivery of an unsigned"
        " revision fails"
    )


class PackScheduleSerializer(WireSerializer):
    """Which devices follow (a dynamic pack's rule) and when waves may go; checked by the
    services (packs/rules.py, packs/windows.py: a bad one is a 400 that names it)."""

    rule = serializers.JSONField(
        required=False,
        allow_null=True,
        help_text="followers by rule (docs/packs.md): an object of tags {all, any, none},"
        ' board, arch and pantavisor (e.g. ">=019"); null: followers picked by hand',
    )
    windows = serializers.JSONField(
        required=False,
        help_text='maintenance windows: [{"days": ["mon", …], "from": "22:00", "to": "04:00"}]'
        " on the wall clock of timezone (a to not after from is the next day); []: any time",
    )
    timezone = serializers.CharField(
        source="time_zone", required=False, help_text="a tz database name, e.g. Europe/Berlin"
    )
    start_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text="no wave starts before this time"
    )


class PackCreateSerializer(PackScheduleSerializer, PackSettingsSerializer):
    """``POST /packs/``: a nick and a leader; the rollout settings are optional."""

    nick = serializers.CharField(max_length=63, validators=[nick_validator])
    leader = serializers.CharField(help_text="the leading device: its id, prn or nick")
    description = serializers.CharField(required=False, allow_blank=True, max_length=4000)

    def get_fields(self):
        fields = super().get_fields()
        defaults = {name: Pack._meta.get_field(name).default for name in _SETTINGS}
        for name, field in fields.items():
            attribute = name.replace("-", "_")
            if attribute in defaults:
                field.required = False
                field.default = defaults[attribute]
        return fields


_SETTINGS = ("canary_share", "wave_size", "failure_threshold", "wave_timeout", "require_signatures")


class PackUpdateSerializer(PackScheduleSerializer, PackSettingsSerializer):
    """``PATCH /packs/<id>``: any of the fields; a new leader rolls its revision out."""

    nick = serializers.CharField(max_length=63, validators=[nick_validator])
    leader = serializers.CharField(help_text="the leading device: its id, prn or nick")
    description = serializers.CharField(allow_blank=True, max_length=4000)

    def get_fields(self):
        fields = super().get_fields()
        for field in fields.values():
            field.required = False
        return fields


class RevertSerializer(WireSerializer):
    """``POST …/revert``: which wave to revert."""

    wave = serializers.IntegerField(
        required=False, min_value=1, help_text="the wave to revert (default: the newest started)"
    )


# --- Output --------------------------------------------------------------------


class TallySerializer(serializers.Serializer):
    """How many devices of a wave (or rollout) are ok, failed, cancelled or still waiting."""

    ok = serializers.IntegerField()
    failed = serializers.IntegerField()
    cancelled = serializers.IntegerField()
    waiting = serializers.IntegerField()

    def to_representation(self, tally: ro.Tally) -> dict:
        return tally.as_dict()


class MemberSerializer(WireSerializer):
    """A pack's member: the leader or a follower, with its revisions' status.

    Expects the annotations of ``packs.services.members``.
    """

    id = serializers.CharField()
    prn = serializers.CharField()
    nick = serializers.CharField()
    role = serializers.ChoiceField(choices=["leader", "follower"])
    has_hardware = serializers.BooleanField()
    online = serializers.BooleanField()
    last_seen = serializers.DateTimeField(allow_null=True)
    time_joined = serializers.DateTimeField(allow_null=True)
    running_rev = serializers.IntegerField(allow_null=True)
    head_rev = serializers.IntegerField(allow_null=True, help_text="the newest revision")
    head_status = _status(st.STATUSES, allow_null=True)
    head_status_msg = serializers.CharField(allow_null=True)


class WaveSerializer(WireSerializer):
    """A wave of a rollout: its followers were posted together and are judged together."""

    number = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=[ro.CANARY, ro.BATCH])
    status = _status(ro.WAVE_STATUSES)
    status_msg = serializers.CharField()
    time_started = serializers.DateTimeField(allow_null=True)
    time_decided = serializers.DateTimeField(allow_null=True)
    deadline = serializers.DateTimeField(
        source="deadline_at", allow_null=True, help_text="when a running wave is judged anyway"
    )
    size = serializers.SerializerMethodField()
    failure_share = serializers.SerializerMethodField()
    counts = TallySerializer(source="tally")

    def get_size(self, wave) -> int:
        return wave.tally.size

    def get_failure_share(self, wave) -> float:
        return round(wave.tally.failure_share, 4)


class RolloutSerializer(WireSerializer):
    """A rollout with its waves. Expects ``services.with_tallies`` to have run."""

    id = serializers.CharField()
    pack = serializers.CharField(source="pack_id")
    leader = serializers.CharField(source="leader_step.trail_id")
    leader_rev = serializers.IntegerField(source="leader_step.rev")
    commit_msg = serializers.CharField(source="leader_step.commit_msg")
    state_sha = serializers.CharField(source="leader_step.state_sha")
    status = _status(ro.ROLLOUT_STATUSES)
    status_msg = serializers.CharField(
        source="summary.text",
        help_text="what the rollout came to, worded from its waves' outcomes as they are now",
    )
    failure_threshold = serializers.FloatField()
    wave_timeout = serializers.IntegerField()
    current_wave = serializers.SerializerMethodField()
    counts = TallySerializer(source="tally")
    late = TallySerializer(help_text="followers that joined after every wave had started")
    waves = serializers.SerializerMethodField()
    time_created = serializers.DateTimeField()
    time_modified = serializers.DateTimeField()
    time_finished = serializers.DateTimeField(allow_null=True)

    def get_current_wave(self, rollout) -> int | None:
        """The running wave, or the one that paused the rollout."""
        for wave in reversed(rollout.wave_list):
            if wave.status == ro.WAVE_RUNNING or (
                rollout.status == ro.PAUSED and wave.status == ro.FAILED
            ):
                return wave.number
        return None

    @extend_schema_field(WaveSerializer(many=True))
    def get_waves(self, rollout) -> list[dict]:
        return WaveSerializer(rollout.wave_list, many=True).data


class DeliverySerializer(WireSerializer):
    """One follower's part in a rollout: what was posted to it and how it went."""

    device = serializers.CharField(source="device_id")
    nick = serializers.CharField(source="device.nick")
    wave = serializers.IntegerField(source="wave.number", allow_null=True, default=None)
    kind = serializers.ChoiceField(choices=[ro.RELEASE, ro.REVERT])
    status = _status(ro.DELIVERY_STATUSES)
    error = serializers.CharField()
    rev = serializers.IntegerField(source="step.rev", allow_null=True, default=None)
    progress_status = _status(
        st.STATUSES,
        source="step.status",
        allow_null=True,
        default=None,
        help_text="the posted revision's status",
    )
    outcome = serializers.ChoiceField(choices=ro.OUTCOMES)
    previous_rev = serializers.IntegerField(source="previous.rev", allow_null=True, default=None)
    time_posted = serializers.DateTimeField(allow_null=True)


class RolloutDetailSerializer(RolloutSerializer):
    """A rollout with every follower's delivery (``context["deliveries"]``)."""

    deliveries = serializers.SerializerMethodField()

    @extend_schema_field(DeliverySerializer(many=True))
    def get_deliveries(self, rollout) -> list[dict]:
        return DeliverySerializer(self.context["deliveries"], many=True).data


class PackSerializer(WireSerializer):
    """A pack as listed: its settings, leader and how many follow it."""

    id = serializers.CharField()
    prn = serializers.CharField()
    nick = serializers.CharField()
    description = serializers.CharField()
    owner = serializers.CharField(source="owner.prn")
    owner_nick = serializers.CharField(source="owner.username")
    leader = serializers.CharField(source="leader_id")
    leader_nick = serializers.CharField(source="leader.nick")
    canary_share = serializers.FloatField()
    wave_size = serializers.IntegerField()
    failure_threshold = serializers.FloatField()
    wave_timeout = serializers.IntegerField()
    require_signatures = serializers.BooleanField()
    follower_count = serializers.IntegerField()
    rollout_status = _status(
        ro.ROLLOUT_STATUSES, allow_null=True, help_text="the newest rollout's status"
    )
    rule = serializers.JSONField(allow_null=True, help_text="null: followers picked by hand")
    windows = serializers.JSONField()
    timezone = serializers.CharField(source="time_zone")
    start_at = serializers.DateTimeField(allow_null=True)
    next_wave_at = serializers.SerializerMethodField(
        help_text="when a wave may start next (now, when it may already); null: never"
    )
    time_created = serializers.DateTimeField()
    time_modified = serializers.DateTimeField()

    def get_next_wave_at(self, pack) -> dt.datetime | None:
        at = pack.next_wave_at(timezone.now())
        return serializers.DateTimeField().to_representation(at) if at else None


class PackDetailSerializer(PackSerializer):
    """A pack with its members' live status, the counts per status of the followers'
    newest revisions, the rollout in progress and the newest past ones."""

    members = MemberSerializer(many=True, source="member_list")
    counts = serializers.DictField(
        child=serializers.IntegerField(),
        source="status_counts",
        help_text='followers per status of their newest revision ("none": no revision yet)',
    )
    rollout = RolloutSerializer(
        allow_null=True, source="active_rollout", help_text="the rollout in progress (or paused)"
    )
    past_rollouts = RolloutSerializer(many=True)
