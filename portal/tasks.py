"""The kernel's periodic work."""

from __future__ import annotations

from portal import audit, queue


@queue.task
def prune_audit_log() -> int:
    """Delete the audit entries older than AUDIT_RETENTION_DAYS (safe to run twice)."""
    return audit.prune()
