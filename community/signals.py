"""Signals other apps connect to (webhooks).

Sent after the database transaction commits, so a receiver always finds the rows.

``proposal_moved(sender=Proposal, proposal=<Proposal>, status=<status>, previous=<status>)``
    a revision proposal was opened (``previous`` None), merged or closed
    (``community.services.proposals``). ``status`` is the new status.
"""

from django.dispatch import Signal

proposal_moved = Signal()
