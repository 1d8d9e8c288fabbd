"""Trails and steps (revisions), and the objects their states name.

Object bytes are content-addressed and stored once (:class:`Blob`, keyed by
sha256); who may use which sha is recorded per owner account
(:class:`OwnerObject`, the wire's "object"); which steps name which sha is
:class:`StepObject`, so that links, step object lists and garbage collection
are queries instead of scans over every state.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from portal.ids import HexIdField
from revisions.querysets import (
    OwnerObjectQuerySet,
    StepObjectQuerySet,
    StepQuerySet,
    TrailQuerySet,
)
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

    def running_step(self) -> Step | None:
        """The revision the device runs: its newest DONE or UPDATED step (None before any)."""
        return self.steps.running().first()


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
    signed = models.BooleanField(
        default=False,
        help_text="Every part of the state is signed by intact signatures, whoever signed"
        " them (trail.signatures.summary.is_signed; set when the state is posted).",
    )

    # Progress, as the device reports it.
    status = models.CharField(max_length=16, choices=STATUS_CHOICES, default=st.NEW)
    progress = models.PositiveSmallIntegerField(default=0)
    status_msg = models.TextField(blank=True, max_length=10_000)
    log = models.TextField(blank=True, max_length=100_000)
    # Pantavisor's own names: its update logs, and how many times it started the update.
    logs = models.TextField(blank=True, max_length=100_000)
    retries = models.PositiveIntegerField(default=0)
    downloads = models.JSONField(default=dict, blank=True)
    # The progress report's free-form "data" (Pantavisor keeps a retry count there).
    progress_data = models.JSONField(null=True, blank=True)
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

    @property
    def is_final(self) -> bool:
        return self.status in st.FINAL

    def reached(self, has_hardware: bool) -> bool:
        """Whether the device got to hold this state: it runs or ran it (DONE, UPDATED).

        A device without hardware (a template) installs nothing, so it holds every
        revision nobody gave up on (not failed, not cancelled). A pack's leader has
        reached such a revision, and only such a revision is one to roll back to.
        """
        if has_hardware:
            return self.status in st.RUNNING_OK
        return self.status not in st.FAILED | {st.CANCEL}


class ProgressReport(models.Model):
    """What happened to a step, report by report, for its page.

    Consecutive reports of the same status by the same actor are one entry
    (the download percentage goes up in it), and a step keeps only its newest
    :attr:`KEEP` entries, so that a chatty device cannot grow it for ever.
    """

    KEEP = 50

    step = models.ForeignKey(Step, on_delete=models.CASCADE, related_name="reports")
    status = models.CharField(max_length=16, choices=STATUS_CHOICES)
    progress = models.PositiveSmallIntegerField(default=0)
    status_msg = models.TextField(blank=True, max_length=10_000)
    actor = models.CharField(max_length=8, default="device")  # trail.status.Actor
    time = models.DateTimeField(default=timezone.now, help_text="The first report of the entry.")
    last_time = models.DateTimeField(default=timezone.now)
    count = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["step", "id"]

    def __str__(self) -> str:
        return f"{self.step} {self.status} {self.progress}%"

    @classmethod
    def record(cls, step: Step, actor: str) -> None:
        """Note ``step``'s progress as it was just saved (call it inside the same transaction)."""
        now = step.progress_time or timezone.now()
        last = step.reports.order_by("-id").first()
        if last is not None and (last.status, last.actor) == (step.status, actor):
            last.progress, last.status_msg = step.progress, step.status_msg
            last.last_time, last.count = now, last.count + 1
            last.save(update_fields=["progress", "status_msg", "last_time", "count"])
            return
        cls.objects.create(
            step=step,
            status=step.status,
            progress=step.progress,
            status_msg=step.status_msg,
            actor=actor,
            time=now,
            last_time=now,
        )
        kept = step.reports.order_by("-id").values_list("id", flat=True)
        oldest_kept = list(kept[cls.KEEP - 1 : cls.KEEP])
        if oldest_kept:
            step.reports.filter(id__lt=oldest_kept[0]).delete()


class StepObject(models.Model):
    """One object sha that a step's state names (written with the step, never edited)."""

    step = models.ForeignKey(Step, on_delete=models.CASCADE, related_name="object_refs")
    sha256 = models.CharField(max_length=64, db_index=True)

    objects = StepObjectQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["step", "sha256"], name="step_object_unique")
        ]

    def __str__(self) -> str:
        return f"{self.step} {self.sha256[:12]}"


class Blob(models.Model):
    """Bytes in the objects storage, once per sha256, verified when they arrived.

    The row exists only while the bytes do: it is created after a verified
    upload and deleted (with the bytes) by garbage collection.
    """

    sha256 = models.CharField(max_length=64, primary_key=True)
    size = models.BigIntegerField()
    time_created = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return self.sha256


class OwnerObject(models.Model):
    """An account's right to use one sha: the API's "object".

    ``PENDING`` while the owner has asked to upload it and the verified bytes
    have not arrived; ``OBJECT`` once the owner uploaded them (proof of
    possession, even when the bytes were already stored for someone else);
    ``LINK`` when the owner got it from a public revision without uploading.
    ``time_modified`` is the time of the last upload grant: garbage
    collection leaves a sha alone while a grant is younger than its grace period.
    """

    class Kind(models.TextChoices):
        PENDING = "pending"
        OBJECT = "object"
        LINK = "link"

    # Also names the S3 staging key of a pending upload.
    id = HexIdField(primary_key=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="owned_objects"
    )
    sha256 = models.CharField(max_length=64)
    objectname = models.CharField(max_length=255, blank=True)
    size = models.BigIntegerField()
    mime_type = models.CharField(max_length=127, default="application/octet-stream")
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.PENDING)
    time_created = models.DateTimeField(default=timezone.now)
    time_modified = models.DateTimeField(default=timezone.now)

    objects = OwnerObjectQuerySet.as_manager()

    class Meta:
        verbose_name = "object"
        constraints = [
            models.UniqueConstraint(fields=["owner", "sha256"], name="object_unique_per_owner")
        ]
        indexes = [models.Index(fields=["sha256"])]

    def __str__(self) -> str:
        return f"{self.objectname or self.sha256[:12]} ({self.kind})"

    @property
    def present(self) -> bool:
        return self.kind != self.Kind.PENDING
