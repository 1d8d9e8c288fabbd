"""Connects revisions' step signals and devices' changes (sent after commit) to packs."""

from django.dispatch import receiver

from devices.signals import device_changed
from packs import services
from packs.services import dynamic
from revisions.signals import step_created, step_progressed


@receiver(step_created, dispatch_uid="packs.step_created")
def _step_created(sender, step, **kwargs) -> None:
    services.step_created(step)


@receiver(step_progressed, dispatch_uid="packs.step_progressed")
def _step_progressed(sender, step, **kwargs) -> None:
    services.step_progressed(step)


@receiver(device_changed, dispatch_uid="packs.device_changed")
def _device_changed(sender, device, **kwargs) -> None:
    """Tags, facts or owner changed: the device joins or leaves its owner's dynamic packs."""
    dynamic.device_changed(device.id)
