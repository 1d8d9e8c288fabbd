"""Connects revisions' step signals (sent after commit) to the forks that follow upstream."""

from django.dispatch import receiver

from community.services import upstream
from revisions.signals import step_created, step_progressed


@receiver(step_created, dispatch_uid="community.step_created")
def _step_created(sender, step, **kwargs) -> None:
    upstream.upstream_moved(step, created=True)


@receiver(step_progressed, dispatch_uid="community.step_progressed")
def _step_progressed(sender, step, **kwargs) -> None:
    upstream.upstream_moved(step)
