"""Signals other apps connect to (live status on the portal pages).

Both are sent after the database transaction commits.

``logs_posted(sender=Device, device=<Device>, lines=[<DeviceLog>, ...])``
    a device posted log lines.

``devices_seen(sender=Device, devices=[<Device>, ...], came_online=[<id>, ...])``
    ``last_seen`` was written for these devices (devices/presence.py);
    ``came_online`` names those that were offline until now.
"""

from django.dispatch import Signal

logs_posted = Signal()
devices_seen = Signal()
