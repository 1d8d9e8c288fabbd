"""The kernel's periodic work."""

from __future__ import annotations

from portal import audit, oauth, queue


@queue.task
def prune_audit_log() -> int:
    """Delete the audit entries older than AUDIT_RETENTION_DAYS (safe to run twice)."""
    return audit.prune()


@queue.task
def clear_expired_oauth() -> int:
    """Delete apps' codes and tokens that can no longer be used (safe to run twice)."""
    return oauth.clear_expired()
