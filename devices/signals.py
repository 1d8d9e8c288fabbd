"""Signals other apps connect to (live status on the portal pages).

Both are sent after the database transaction commits.

``logs_posted(sender=Device, device=<Device>, lines=[<DeviceLog>, ...])``
    a device posted log lines.

``device_seen(sender=Device, device=<Device>)``
    ``last_seen`` was written (at most once per PRESENCE_WRITE_INTERVAL).
"""

from django.dispatch import Signal

logs_posted = Signal()
device_seen = Signal()
