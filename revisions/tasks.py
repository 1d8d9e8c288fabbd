"""Celery tasks for objects: garbage collection. Safe to run twice, and alongside uploads."""

from portal import queue
from revisions import gc


@queue.task
def collect_object(sha: str) -> bool:
    """Delete one object's rows and bytes if nothing references it past the grace period."""
    return gc.collect(sha, gc.cutoff())


@queue.task
def collect_garbage() -> int:
    """Periodic sweep (``OBJECTS_GC_INTERVAL``): expire old grants and unfinished
    uploads, then collect unreferenced objects, each in its own short transaction.
    Returns how many objects were collected."""
    before = gc.cutoff()
    gc.expire_grants(before)
    gc.sweep_uploads(before)
    return sum(gc.collect(sha, before) for sha in gc.candidates(before))
