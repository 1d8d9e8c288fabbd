"""Webhooks: an owner's receivers of events, each delivery made, each attempt at one."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from portal.ids import HexIdField
from webhooks import wire
from webhooks.querysets import WebhookQuerySet


class Webhook(models.Model):
    """A URL an owner asked to be told of events at (``POST /webhooks``).

    ``secret`` signs each delivery (HMAC-SHA256 of the body); it is kept as it
    was given, since signing needs it, and never answered back.
    """

    id = HexIdField(primary_key=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhooks"
    )
    url = models.URLField(max_length=2000)
    events = models.JSONField(default=list, help_text=f"Of {', '.join(wire.NAMES)}, or *.")
    secret = models.CharField(max_length=256)
    active = models.BooleanField(default=True)
    #: The number of the newest delivery (numbers run 1, 2, … per webhook).
    last_number = models.PositiveIntegerField(default=0, editable=False)
    time_created = models.DateTimeField(auto_now_add=True)
    time_modified = models.DateTimeField(auto_now=True)

    objects = WebhookQuerySet.as_manager()

    class Meta:
        ordering = ["-time_created"]

    def __str__(self) -> str:
        return self.url

    def wants(self, event: str) -> bool:
        return self.active and (wire.ALL in self.events or event in self.events)


class Delivery(models.Model):
    """One event sent to one webhook: the exact body, signed on each attempt.

    ``id`` is the ``X-Trailhub-Delivery`` header, the same on every attempt, so
    a receiver can drop a repeat; a redelivery is a new delivery of the same body.
    """

    PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
    STATUSES = [(PENDING, PENDING), (DELIVERED, DELIVERED), (FAILED, FAILED)]

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    number = models.PositiveIntegerField()
    event = models.CharField(max_length=32)
    body = models.TextField()
    status = models.CharField(max_length=16, choices=STATUSES, default=PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    #: When a pending delivery is due to be tried (again); the sweep queues it after.
    next_attempt = models.DateTimeField(null=True, blank=True)
    redelivery_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="redeliveries"
    )
    time_created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["webhook", "number"], name="delivery_number_unique")
        ]
        indexes = [models.Index(fields=["status", "next_attempt"])]

    def __str__(self) -> str:
        return f"{self.event} #{self.number}"

    @property
    def last_attempt(self) -> Attempt | None:
        """The newest attempt (from the prefetched ``attempt_set`` when there is one)."""
        attempts = list(self.attempt_set.all())
        return attempts[-1] if attempts else None


class Attempt(models.Model):
    """One POST of a delivery: what the receiver answered, or why it was not reached."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_set")
    number = models.PositiveSmallIntegerField()
    ok = models.BooleanField()
    code = models.PositiveSmallIntegerField(null=True, blank=True, help_text="HTTP status")
    excerpt = models.CharField(max_length=500, blank=True, help_text="The answer's start")
    error = models.CharField(max_length=500, blank=True)
    time = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="attempt_number_unique")
        ]

    def __str__(self) -> str:
        return f"attempt {self.number}: {self.code or self.error}"


class Presence(models.Model):
    """Whether a device was last announced online, to tell hooks when it goes offline.

    Kept only for devices whose owner has a webhook (``device.offline`` is a
    lapse of time, which no request reports: the sweep finds it).
    """

    device = models.OneToOneField(
        "devices.Device", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    online = models.BooleanField(default=True)

    def __str__(self) -> str:
        return f"{self.device_id} {'online' if self.online else 'offline'}"
