"""Packs, their followers, and the rollouts that post a leader's revisions to them.

The tables keep the names they had when packs lived inside the ``devices`` app
(``devices_pack``, …): moving the models to their own app moved no data
(migrations/0001_initial.py).
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from packs import rollout as ro
from packs import windows as win
from packs.querysets import PackQuerySet, RolloutQuerySet
from portal.ids import HexIdField

#: Bounds of the rollout settings (validated by the API and enforced by the database).
WAVE_TIMEOUT_MIN = 10
WAVE_TIMEOUT_MAX = 7 * 24 * 3600
WAVE_SIZE_MAX = 100_000


def _choices(names) -> list[tuple[str, str]]:
    return [(name, name) for name in names]


class Pack(models.Model):
    """A leader device and the devices that follow its revisions.

    When the leader reaches a revision (DONE or UPDATED; a leader without
    hardware as soon as it is posted), a :class:`Rollout` posts its state to
    every follower, in waves: a canary share of the followers first, then
    batches of ``wave_size`` (0: everyone else at once). A wave whose share
    of ERROR/WONTGO is over ``failure_threshold`` pauses the rollout; a wave
    that has not finished after ``wave_timeout`` seconds is judged as it stands.
    """

    id = HexIdField(primary_key=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="packs"
    )
    nick = models.CharField(max_length=63)
    description = models.TextField(blank=True, max_length=4000)
    # Deleting the leader deletes the pack: a pack without a leader follows nothing.
    leader = models.ForeignKey("devices.Device", on_delete=models.CASCADE, related_name="led_packs")
    canary_share = models.FloatField(
        default=0.0, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)]
    )
    wave_size = models.PositiveIntegerField(
        default=0, validators=[MaxValueValidator(WAVE_SIZE_MAX)]
    )
    failure_threshold = models.FloatField(
        default=0.2, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)]
    )
    wave_timeout = models.PositiveIntegerField(
        default=1800,
        validators=[MinValueValidator(WAVE_TIMEOUT_MIN), MaxValueValidator(WAVE_TIMEOUT_MAX)],
        help_text="seconds a wave waits for its devices to reach a final status",
    )
    require_signatures = models.BooleanField(
        default=False,
        help_text="Its leader and followers take only revisions whose every key is signed by"
        " a signer the owner trusts (docs/signing.md).",
    )
    # A dynamic pack's rule (packs/rules.py): its followers are then exactly the owner's
    # devices that match it (packs/services/dynamic.py). Null: the owner picks them.
    rule = models.JSONField(null=True, blank=True)
    # When waves may start (packs/windows.py): not before start_at, and only inside one
    # of the windows (none: at any time), read on the wall clock of time_zone.
    start_at = models.DateTimeField(null=True, blank=True)
    windows = models.JSONField(default=list, blank=True)
    time_zone = models.CharField(max_length=64, default="UTC")
    time_created = models.DateTimeField(default=timezone.now)
    time_modified = models.DateTimeField(auto_now=True)

    objects = PackQuerySet.as_manager()

    class Meta:
        db_table = "devices_pack"
        constraints = [
            models.UniqueConstraint(fields=["owner", "nick"], name="pack_nick_unique_per_owner"),
            models.CheckConstraint(
                condition=Q(canary_share__gte=0) & Q(canary_share__lte=1),
                name="pack_canary_share_range",
            ),
            models.CheckConstraint(
                condition=Q(failure_threshold__gte=0) & Q(failure_threshold__lte=1),
                name="pack_failure_threshold_range",
            ),
        ]
        ordering = ["nick", "id"]

    def __str__(self) -> str:
        return self.nick

    @property
    def prn(self) -> str:
        return f"prn:::packs:/{self.id}"

    def is_owned_by(self, user) -> bool:
        return (
            not getattr(user, "is_device", False)
            and bool(getattr(user, "is_authenticated", False))
            and user.pk == self.owner_id
        )

    @property
    def is_dynamic(self) -> bool:
        return self.rule is not None

    @property
    def is_scheduled(self) -> bool:
        """Whether waves wait for a start time or a window."""
        return self.start_at is not None or bool(self.windows)

    def in_window(self, now: dt.datetime) -> bool:
        """Whether a wave may start at ``now`` (packs/windows.py)."""
        return win.in_window(self.windows, self.time_zone, self.start_at, now)

    def next_wave_at(self, now: dt.datetime) -> dt.datetime | None:
        """When the next wave may start: ``now`` when it may already."""
        return win.next_window_start(self.windows, self.time_zone, self.start_at, now)


class PackMember(models.Model):
    """A follower of a pack. A device follows at most one pack (``device`` is unique).

    Followers are owned by the pack's owner, so the objects of the leader's
    states are already theirs. Join order decides the waves: the canary is the
    earliest followers.
    """

    pack = models.ForeignKey(Pack, on_delete=models.CASCADE, related_name="members")
    device = models.OneToOneField(
        "devices.Device", on_delete=models.CASCADE, related_name="pack_membership"
    )
    time_joined = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "devices_packmember"
        ordering = ["time_joined", "device_id"]
        indexes = [models.Index(fields=["pack", "time_joined"])]

    def __str__(self) -> str:
        return f"{self.device_id} follows {self.pack_id}"


class Rollout(models.Model):
    """One leader revision going out to a pack's followers.

    The threshold and timeout are copied from the pack when the rollout
    starts, so that its history says what it was judged by.
    """

    id = HexIdField(primary_key=True)
    pack = models.ForeignKey(Pack, on_delete=models.CASCADE, related_name="rollouts")
    leader_step = models.ForeignKey(
        "revisions.Step", on_delete=models.CASCADE, related_name="pack_rollouts"
    )
    status = models.CharField(
        max_length=16, choices=_choices(ro.ROLLOUT_STATUSES), default=ro.RUNNING
    )
    status_msg = models.TextField(blank=True)
    failure_threshold = models.FloatField()
    wave_timeout = models.PositiveIntegerField()
    time_created = models.DateTimeField(default=timezone.now)
    time_modified = models.DateTimeField(auto_now=True)
    time_finished = models.DateTimeField(null=True, blank=True)

    objects = RolloutQuerySet.as_manager()

    class Meta:
        db_table = "devices_rollout"
        constraints = [
            # One rollout per leader revision: a repeated signal or task finds it.
            models.UniqueConstraint(fields=["pack", "leader_step"], name="rollout_once_per_step")
        ]
        indexes = [
            models.Index(fields=["pack", "-time_created"]),
            models.Index(fields=["status"]),
        ]
        ordering = ["-time_created", "-id"]

    def __str__(self) -> str:
        return f"rollout {self.id} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in ro.ACTIVE


class Wave(models.Model):
    """A batch of a rollout's followers, posted together and judged together."""

    rollout = models.ForeignKey(Rollout, on_delete=models.CASCADE, related_name="waves")
    number = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=8, choices=_choices((ro.CANARY, ro.BATCH)))
    status = models.CharField(max_length=16, choices=_choices(ro.WAVE_STATUSES), default=ro.PENDING)
    status_msg = models.TextField(blank=True)
    time_started = models.DateTimeField(null=True, blank=True)
    time_decided = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "devices_wave"
        constraints = [
            models.UniqueConstraint(fields=["rollout", "number"], name="wave_number_unique")
        ]
        ordering = ["rollout", "number"]

    def __str__(self) -> str:
        return f"wave {self.number} of {self.rollout_id} ({self.status})"

    def deadline(self, timeout: int) -> dt.datetime | None:
        if self.time_started is None:
            return None
        return self.time_started + dt.timedelta(seconds=timeout)


class Delivery(models.Model):
    """One follower's part in a rollout: the record that makes posting exactly-once.

    ``kind`` is ``release`` (the leader's state) or ``revert`` (the state the
    follower ran before, posted back). A task posts the revision and sets
    ``step`` in the same transaction, under this row's lock, so a worker
    killed half-way either posted and recorded it, or did neither.
    """

    rollout = models.ForeignKey(Rollout, on_delete=models.CASCADE, related_name="deliveries")
    # Empty for a follower that joined after every wave had started.
    wave = models.ForeignKey(
        Wave, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    device = models.ForeignKey(
        "devices.Device", on_delete=models.CASCADE, related_name="pack_deliveries"
    )
    kind = models.CharField(
        max_length=8, choices=_choices((ro.RELEASE, ro.REVERT)), default=ro.RELEASE
    )
    # The revision whose state is posted: the leader's, or the follower's own older one.
    source = models.ForeignKey("revisions.Step", on_delete=models.CASCADE, related_name="+")
    # The follower's revision that carries it (posted, or already there).
    step = models.ForeignKey(
        "revisions.Step",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="pack_deliveries",
    )
    # What the follower ran when the release was posted: what a revert goes back to.
    previous = models.ForeignKey(
        "revisions.Step", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(
        max_length=16, choices=_choices(ro.DELIVERY_STATUSES), default=ro.D_PENDING
    )
    error = models.TextField(blank=True)
    time_created = models.DateTimeField(default=timezone.now)
    time_posted = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "devices_delivery"
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["rollout", "device", "kind"], name="delivery_once_per_device"
            )
        ]
        indexes = [models.Index(fields=["rollout", "kind", "status"])]
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.kind} of {self.rollout_id} to {self.device_id} ({self.status})"

    @property
    def outcome(self) -> str:
        return ro.outcome(self.status, self.step.status if self.step_id else None)
