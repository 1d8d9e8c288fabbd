"""Signals other apps connect to (live status on the portal pages).

Both are sent after the database transaction commits.

``logs_posted(sender=Device, device=<Device>, lines=[<DeviceLog>, ...])``
    a device posted log lines.

``devices_seen(sender=Device, devices=[<Device>, ...], came_online=[<id>, ...])``
    ``last_seen`` was written for these devices (devices/presence.py);
    ``came_online`` names those that were offline until now.

``device_changed(sender=Device, device=<Device>, changed={"tags", "facts", "owner"})``
    what a dynamic pack selects by changed: the owner's tags (devices/tags.py),
    the device-meta's ``RULE_FACTS`` (board, arch, Pantavisor version), or the
    owner (a claim).
"""

from django.db import transaction
from django.dispatch import Signal

logs_posted = Signal()
devices_seen = Signal()
device_changed = Signal()


def changed_after_commit(device, what: set[str]) -> None:
    """Send :data:`device_changed` for ``device`` once the transaction commits."""
    changed = frozenset(what)
    transaction.on_commit(
        lambda: device_changed.send(sender=type(device), device=device, changed=changed)
    )
