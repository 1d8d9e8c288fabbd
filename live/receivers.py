"""Connects the other apps' signals to the live events."""

from django.dispatch import receiver

from devices.signals import devices_seen, logs_posted
from live import events
from revisions.signals import step_created, step_progressed


@receiver(step_created, dispatch_uid="live.step_created")
def _step_created(sender, step, **kwargs) -> None:
    events.revision_posted(step)


@receiver(step_progressed, dispatch_uid="live.step_progressed")
def _step_progressed(sender, step, **kwargs) -> None:
    events.progress_changed(step)


@receiver(logs_posted, dispatch_uid="live.logs_posted")
def _logs_posted(sender, device, lines, **kwargs) -> None:
    events.log_lines(device, lines)


@receiver(devices_seen, dispatch_uid="live.devices_seen")
def _devices_seen(sender, devices, **kwargs) -> None:
    events.presence(*devices)
