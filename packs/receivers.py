"""Connects revisions' step signals (sent after commit) to pack propagation."""

from django.dispatch import receiver

from packs import services
from revisions.signals import step_created, step_progressed


@receiver(step_created, dispatch_uid="packs.step_created")
def _step_created(sender, step, **kwargs) -> None:
    services.step_created(step)


@receiver(step_progressed, dispatch_uid="packs.step_progressed")
def _step_progressed(sender, step, **kwargs) -> None:
    services.step_progressed(step)
