"""Who may see which device: decided here, and only here."""

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


def _online_since(now: dt.datetime | None) -> dt.datetime:
    """The oldest ``last_seen`` that still counts as online at ``now``."""
    return (now or timezone.now()) - dt.timedelta(seconds=settings.DEVICE_ONLINE_WINDOW)


class DeviceQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Devices ``user`` may read: public ones, the user's own, or (for a device) itself.

        ``user`` is a request's user: an account, a DevicePrincipal, or anonymous.
        """
        if getattr(user, "is_device", False):
            return self.filter(Q(public=True) | Q(id=user.device.id))
        if user is None or not user.is_authenticated:
            return self.filter(public=True)
        return self.filter(Q(public=True) | Q(owner=user))

    def owned_by(self, user):
        """Devices ``user`` may change: only an account owns devices."""
        if user is None or getattr(user, "is_device", False) or not user.is_authenticated:
            return self.none()
        return self.filter(owner=user)

    def public(self):
        return self.filter(public=True)

    def online(self, now: dt.datetime | None = None):
        """Devices seen within ``DEVICE_ONLINE_WINDOW`` (:attr:`Device.online`, as a filter)."""
        return self.filter(last_seen__gte=_online_since(now))

    def offline(self, now: dt.datetime | None = None):
        """Devices not seen within ``DEVICE_ONLINE_WINDOW``, or never: the others of :meth:`online`."""
        return self.exclude(last_seen__gte=_online_since(now))

    def nick_matching(self, pattern: str):
        """Devices whose nick is ``pattern``, or starts with it (any case) when it
        begins with ``^``: what ``GET /devices/?nick=`` takes. pvr sends
        ``^<term>`` (libpvr/util.go GetDevices); the reference reads it as a
        regular expression, here the rest is plain text, never a regex."""
        if pattern.startswith("^"):
            return self.filter(nick__istartswith=pattern[1:])
        return self.filter(nick=pattern)


class DeviceLogQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Log entries ``user`` may read: those of the devices the person owns.

        Logs are private even for public devices; devices post logs but do not
        read them back.
        """
        if user is None or getattr(user, "is_device", False) or not user.is_authenticated:
            return self.none()
        return self.filter(device__owner=user)
