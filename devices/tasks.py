"""Celery tasks for devices: log retention. Tasks take ids and are safe to run twice."""

from devices import services
from portal import queue


@queue.task
def trim_logs(device_id: str) -> int:
    """Keep only the DEVICE_LOG_RETENTION newest log entries of one device."""
    return services.trim_device_logs(device_id)


@queue.task
def trim_all_logs() -> int:
    """Periodic sweep (CELERY_BEAT_SCHEDULE): queue a trim for every device over the limit."""
    device_ids = services.devices_over_log_retention()
    for device_id in device_ids:
        queue.enqueue(trim_logs, device_id)
    return len(device_ids)
