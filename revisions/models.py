"""Trails and steps (revisions). Objects live in ``revisions/objects``' models below."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from revisions.querysets import StepQuerySet, TrailQuerySet
from trail import status as st

STATUS_CHOICES = [(name, name) for name in st.STATUSES]


class Trail(models.Model):
    """A device's line of revisions. Its id is the device's id."""

    device = models.OneToOneField(
        "devices.Device", primary_key=True, on_delete=models.CASCADE, related_name="trail"
    )
    time_created = models.DateTimeField(default=timezone.now)
    last_touched = models.DateTimeField(default=timezone.now)
    # The newest rev; incremented under a row lock so concurrent posts never
    # collide on a number or leave a gap.
    head_rev = models.IntegerField(default=-1)

    objects = TrailQuerySet.as_manager()

    def __str__(self) -> str:
        return f"trail {self.device_id}"

    @property
    def id(self) -> str:
        return self.device_id


class Step(models.Model):
    """One revision of a trail: a whole state.json, and the device's progress installing it."""

    trail = models.ForeignKey(Trail, on_delete=models.CASCADE, related_name="steps")
    rev = models.IntegerField()
    commit_msg = models.TextField(blank=True, max_length=10_000)
    state = models.JSONField()
    state_sha = models.CharField(max_length=64)
    meta = models.JSONField(default=dict, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who posted it; empty when the device posted it (its factory state).",
    )
    forked_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="forks"
    )
    time_created = models.DateTimeField(default=timezone.now)
    time_modified = models.DateTimeField(auto_now=True)

    # Progress, as the device reports it.
    status = models.CharField(max_length=16, choices=STATUS_CHOICES, default=st.NEW)
    progress = models.PositiveSmallIntegerField(default=0)
    status_msg = models.TextField(blank=True, max_length=10_000)
    log = models.TextField(blank=True, max_length=100_000)
    downloads = models.JSONField(default=dict, blank=True)
    progress_time = models.DateTimeField(null=True, blank=True)

    objects = StepQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["trail", "rev"], name="step_rev_unique")]
        indexes = [models.Index(fields=["trail", "status", "rev"])]
        ordering = ["trail", "rev"]

    def __str__(self) -> str:
        return f"{self.trail_id}-{self.rev}"

    @property
    def wire_id(self) -> str:
        return f"{self.trail_id}-{self.rev}"
