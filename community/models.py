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
