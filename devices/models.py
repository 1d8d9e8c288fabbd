"""Devices: accounts for hardware (or hardware-less templates), their metadata and logs."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.core.cache import cache
from django.db import models
from django.utils import timezone

from devices.querysets import DeviceQuerySet
from portal.ids import HexIdField

CHALLENGE_WORDS = (
    "amber", "birch", "cedar", "delta", "ember", "fjord", "grove", "harbor", "iris", "juniper",
    "kestrel", "lagoon", "maple", "nectar", "opal", "pine", "quartz", "raven", "sierra", "tundra",
    "umber", "violet", "willow", "yarrow", "zephyr", "alpine", "basil", "cobalt", "dune", "echo",
    "falcon", "glacier", "hazel", "indigo", "jasper", "koala", "lotus", "meadow", "nova", "orchid",
    "pebble", "quill", "river", "saffron", "thistle", "upland", "vale", "walnut", "xenon", "yonder",
)  # fmt: skip


def new_challenge() -> str:
    """A short challenge a person can read off a console and type: ``maple-river-42``."""
    words = [secrets.choice(CHALLENGE_WORDS) for _ in range(2)]
    return f"{words[0]}-{words[1]}-{secrets.randbelow(100):02d}"


def new_secret() -> str:
    return secrets.token_urlsafe(24)


class Device(models.Model):
    """A device account. Its trail (revisions) has the same id.

    ``owner`` is empty until a user claims the device with its ``challenge``.
    ``has_hardware`` is False for a device created from the portal or by a fork,
    which no real device runs yet (a template others can follow).
    """

    id = HexIdField(primary_key=True)
    nick = models.CharField(max_length=63)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="devices",
    )
    secret_hash = models.CharField(max_length=128, blank=True)
    challenge = models.CharField(max_length=64, blank=True)
    public = models.BooleanField(default=False)
    has_hardware = models.BooleanField(default=True)
    description = models.TextField(blank=True, max_length=4000)
    user_meta = models.JSONField(default=dict, blank=True)
    device_meta = models.JSONField(default=dict, blank=True)
    time_created = models.DateTimeField(default=timezone.now, db_index=True)
    time_modified = models.DateTimeField(auto_now=True)
    last_seen = models.DateTimeField(null=True, blank=True)

    objects = DeviceQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner", "nick"], name="device_nick_unique_per_owner")
        ]
        indexes = [models.Index(fields=["public", "-time_modified"])]

    def __str__(self) -> str:
        return self.nick

    @property
    def prn(self) -> str:
        return f"prn:::devices:/{self.id}"

    def set_secret(self, secret: str) -> None:
        self.secret_hash = make_password(secret)

    def check_secret(self, secret: str) -> bool:
        return bool(self.secret_hash) and check_password(secret, self.secret_hash)

    @property
    def online(self) -> bool:
        """Derived at read time from ``last_seen``: nothing depends on a periodic job."""
        if self.last_seen is None:
            return False
        age = (timezone.now() - self.last_seen).total_seconds()
        return age <= settings.DEVICE_ONLINE_WINDOW

    def mark_seen(self) -> None:
        """Refresh ``last_seen``, writing at most once per PRESENCE_WRITE_INTERVAL.

        Called on every authenticated device request; the cache's ``add`` lets
        one request in each interval through to the database.
        """
        if not cache.add(f"seen:{self.id}", 1, timeout=settings.PRESENCE_WRITE_INTERVAL):
            return
        now = timezone.now()
        Device.objects.filter(id=self.id).update(last_seen=now)
        self.last_seen = now
