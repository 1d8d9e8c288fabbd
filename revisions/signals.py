"""Signals other apps connect to (packs, live status, portal pages).

Both are sent after the database transaction commits, so a receiver always
finds the rows it is told about.

``step_created(sender=Step, step=<Step>)``
    a revision was posted (a factory state, a user's post, a fork, a pack's).

``step_progressed(sender=Step, step=<Step>, previous=<status>)``
    a revision's progress changed: the device reported, or the owner
    cancelled or refused it. ``step.status`` is the new status.
"""

from django.dispatch import Signal

step_created = Signal()
step_progressed = Signal()
