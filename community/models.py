"""Community: stars and fork lineage between devices."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Star(models.Model):
    """A user's star on a device they can see. One per user and device."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="stars"
    )
    device = models.ForeignKey("devices.Device", on_delete=models.CASCADE, related_name="stars")
    time_created = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "device"], name="star_unique_per_user")
        ]
        # Counting a device's stars reads this index alone.
        indexes = [models.Index(fields=["device", "user"])]

    def __str__(self) -> str:
        return f"{self.user_id} ★ {self.device_id}"


class Fork(models.Model):
    """Lineage: revision ``rev`` of ``device`` was forked from ``source_rev`` of ``source_device``.

    The step itself records its source in ``Step.forked_from``; this row keeps
    the device-level story the pages show ("forked from alice/kiosk at rev 7")
    and is what fork counts count. ``source_label`` keeps the source's
    ``owner/nick`` as it was, so the lineage still reads after the source is
    deleted or renamed.
    """

    device = models.ForeignKey(
        "devices.Device", on_delete=models.CASCADE, related_name="fork_origins"
    )
    rev = models.IntegerField(help_text="The revision the fork created on the device.")
    created_device = models.BooleanField(
        default=False, help_text="The fork made the device (a template with no hardware yet)."
    )
    source_device = models.ForeignKey(
        "devices.Device",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="forks",
    )
    source_rev = models.IntegerField()
    source_label = models.CharField(max_length=140)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    time_created = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["source_device"]),
            models.Index(fields=["device", "-time_created"]),
        ]

    def __str__(self) -> str:
        return f"{self.device_id}@{self.rev} ⑂ {self.source_label}@{self.source_rev}"


class Upstream(models.Model):
    """What a forked device follows: the device it was forked from, and the revision of
    it that its state last took in (``base_rev``: the base of the next three-way merge).

    A fork sets it (the newest fork into a device wins); merging upstream revision N
    moves ``base_rev`` to N. With ``follow`` the device merges each new upstream
    revision by itself; a merge that conflicts turns ``follow`` off and says why in
    ``notice``, which the device page shows until the next merge.
    """

    device = models.OneToOneField(
        "devices.Device", primary_key=True, on_delete=models.CASCADE, related_name="upstream"
    )
    source_device = models.ForeignKey(
        "devices.Device",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="downstreams",
    )
    base_rev = models.IntegerField(help_text="The upstream revision the device last took in.")
    follow = models.BooleanField(
        default=False, help_text="Merge each new upstream revision automatically."
    )
    notice = models.CharField(max_length=2000, blank=True)
    time_modified = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["source_device", "follow"])]

    def __str__(self) -> str:
        return f"{self.device_id} ⇡ {self.source_device_id}@{self.base_rev}"

    @classmethod
    def took_in(cls, device, source, rev: int) -> None:
        """``device`` now holds revision ``rev`` of ``source`` (a fork into it): that is
        its upstream from now on, ``rev`` the base of the next merge. Following goes on
        only when the upstream is the same device it followed."""
        row = cls.objects.select_for_update().filter(device=device).first()
        follow = row is not None and row.follow and row.source_device_id == source.id
        cls.objects.update_or_create(
            device=device,
            defaults={"source_device": source, "base_rev": rev, "follow": follow, "notice": ""},
        )


class Proposal(models.Model):
    """A revision of one device proposed to another (a pull request for devices).

    Numbered per target (``number`` 1, 2, 3…). The three states of its merge:
    ``base``, the revision one of the two devices last took in from the other
    (their lineage, ``Upstream``), else the target's newest when it was opened;
    the target's newest (ours); and the proposed revision ``step`` (theirs). Merging posts the result to
    the target as ``merged_rev``, authored by the proposer; proposing never lets the
    proposer write to the target.
    """

    class Status(models.TextChoices):
        OPEN = "open"
        MERGED = "merged"
        CLOSED = "closed"

    target = models.ForeignKey("devices.Device", on_delete=models.CASCADE, related_name="proposals")
    number = models.IntegerField(help_text="1, 2, 3… per target device.")
    proposer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="proposals"
    )
    source_device = models.ForeignKey(
        "devices.Device",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="proposals_made",
    )
    source_rev = models.IntegerField()
    source_label = models.CharField(
        max_length=140, help_text="The source's owner/nick when the proposal was opened."
    )
    step = models.ForeignKey(
        "revisions.Step",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The proposed revision (gone with its device).",
    )
    base = models.ForeignKey(
        "revisions.Step",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The common ancestor the merge starts from (the target's newest when none).",
    )
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    merged_rev = models.IntegerField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who merged or closed it.",
    )
    time_created = models.DateTimeField(default=timezone.now)
    time_closed = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["target", "number"], name="proposal_number_unique")
        ]
        indexes = [models.Index(fields=["proposer", "-time_created"])]

    def __str__(self) -> str:
        return f"{self.target_id} #{self.number} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN


class ProposalComment(models.Model):
    """A comment on a proposal, by someone who may see its target."""

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    body = models.TextField()
    time_created = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["proposal", "time_created"])]

    def __str__(self) -> str:
        return f"{self.author_id} on {self.proposal_id}"
