"""Connects the other apps' signals to the live events."""

from django.dispatch import receiver

from community import events
from revisions.signals import step_created, step_progressed


@receiver(step_created, dispatch_uid="community.step_created")
def _step_created(sender, step, **kwargs) -> None:
    events.revision_posted(step)


@receiver(step_progressed, dispatch_uid="community.step_progressed")
def _step_progressed(sender, step, **kwargs) -> None:
    events.progress_changed(step)
