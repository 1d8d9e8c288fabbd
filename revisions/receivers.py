"""Keeps the cached device polls (revisions/api/poll.py) honest: any saved or deleted
revision, and any saved or deleted device, gives the device's trail a new version."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from devices.models import Device
from revisions import pollcache
from revisions.models import Step


@receiver([post_save, post_delete], sender=Step, dispatch_uid="revisions.poll.step")
def _step_changed(sender, instance, **kwargs) -> None:
    pollcache.changed(instance.trail_id)


@receiver([post_save, post_delete], sender=Device, dispatch_uid="revisions.poll.device")
def _device_changed(sender, instance, **kwargs) -> None:
    pollcache.changed(instance.id)
