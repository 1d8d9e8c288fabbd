"""Signals other apps connect to (webhooks).

Sent after the database transaction commits, so a receiver always finds the rows.

``rollout_moved(sender=Rollout, rollout=<Rollout>, status=<status>, previous=<status>)``
    a rollout's status changed (``packs.rollout.ROLLOUT_MOVES``): it paused on a
    failed wave, was resumed, completed, aborted, superseded or reverted.
    ``status`` is the new status (the row may have moved on since).
"""

from django.dispatch import Signal

rollout_moved = Signal()
