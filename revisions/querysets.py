"""Who may see which trail and step: the device's visibility, decided in devices.querysets."""

from django.apps import apps
from django.db import models


def _visible_devices(user):
    return apps.get_model("devices", "Device").objects.visible_to(user)


class TrailQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(device__in=_visible_devices(user))


class StepQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(trail__device__in=_visible_devices(user))
