"""Device logs: posting, and keeping only the newest DEVICE_LOG_RETENTION."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from devices.models import (
    Device,
    DeviceLog,
)
from devices.signals import logs_posted
from portal import queue


def _clip(value: str, field: str) -> str:
    return value[: DeviceLog._meta.get_field(field).max_length]


def post_logs(device: Device, entries: list[dict]) -> list[DeviceLog]:
    """Store a batch of validated entries for ``device`` in one INSERT.

    Entries without ``tsec`` get the arrival time. When the device may now be
    over DEVICE_LOG_RETENTION, trimming is queued for after the commit.
    """
    now = timezone.now()
    rows = []
    for entry in entries:
        tsec = entry.get("tsec")
        tnano = entry.get("tnano") or 0
        if tsec is None:
            tsec, tnano = int(now.timestamp()), now.microsecond * 1000
        rows.append(
            DeviceLog(
                device=device,
                time=DeviceLog.time_of(tsec, tnano),
                tsec=tsec,
                tnano=tnano,
                src=_clip(entry.get("src", ""), "src"),
                lvl=_clip(entry.get("lvl", "").upper(), "lvl"),
                msg=entry.get("msg", ""),
                plat=_clip(entry.get("plat", ""), "plat"),
                rev=_clip(entry.get("rev", ""), "rev"),
                time_created=now,
            )
        )
    with transaction.atomic():
        created = DeviceLog.objects.bulk_create(rows)
        transaction.on_commit(lambda: logs_posted.send(sender=Device, device=device, lines=created))
        if logs_over_retention(device.id):
            from devices.tasks import trim_logs

            queue.enqueue_on_commit(trim_logs, device.id)
    return created


def _retention_boundary(device_id: str, keep: int) -> int | None:
    """The id of the ``keep``-th newest entry of the device, or None if it has fewer."""
    ids = (
        DeviceLog.objects.filter(device_id=device_id)
        .order_by("-id")
        .values_list("id", flat=True)[keep - 1 : keep]
    )
    return next(iter(ids), None)


def logs_over_retention(device_id: str) -> bool:
    keep = settings.DEVICE_LOG_RETENTION
    return _retention_boundary(device_id, keep + 1) is not None


def trim_device_logs(device_id: str) -> int:
    """Delete all but the DEVICE_LOG_RETENTION newest entries of a device; returns how many.

    Safe to run twice or concurrently: it only ever deletes below a boundary
    that it re-reads.
    """
    boundary = _retention_boundary(device_id, settings.DEVICE_LOG_RETENTION)
    if boundary is None:
        return 0
    deleted, _ = DeviceLog.objects.filter(device_id=device_id, id__lt=boundary).delete()
    return deleted


def devices_over_log_retention() -> list[str]:
    """Ids of devices holding more log entries than DEVICE_LOG_RETENTION (the periodic sweep)."""
    return list(
        DeviceLog.objects.values("device_id")
        .annotate(n=Count("id"))
        .filter(n__gt=settings.DEVICE_LOG_RETENTION)
        .values_list("device_id", flat=True)
    )
