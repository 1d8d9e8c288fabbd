"""Garbage collection of objects: bytes no revision names, past a grace period.

A sha is collected when its Blob is older than ``OBJECTS_GC_GRACE``, no
step names it, and no owner's row for it (upload grant, upload or link)
was touched within the grace period. Its rows and bytes go together, in
one transaction that holds the rows' locks in the order everything else
takes them (owner rows, then the Blob): a step being posted that names the
sha holds its owner row, so either the step commits first and the sha is
kept, or the rows are gone first and the post reports the sha missing. An
upload of the same sha waits on the Blob row and installs its bytes after.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from revisions.models import Blob, OwnerObject, StepObject
from revisions.storage import get_store

log = logging.getLogger(__name__)


def cutoff() -> dt.datetime:
    return timezone.now() - dt.timedelta(seconds=settings.OBJECTS_GC_GRACE)


def candidates(before: dt.datetime, limit: int = 1000) -> list[str]:
    """Shas that look collectable (each is re-checked under locks by :func:`collect`)."""
    fresh = OwnerObject.objects.filter(time_modified__gte=before).values("sha256")
    return list(
        Blob.objects.filter(time_created__lt=before)
        .exclude(sha256__in=StepObject.objects.values("sha256"))
        .exclude(sha256__in=fresh)
        .order_by("time_created")
        .values_list("sha256", flat=True)[:limit]
    )


def collect(sha: str, before: dt.datetime) -> bool:
    """Delete ``sha``'s rows and bytes if it is still collectable; True if it was."""
    store = get_store()
    with transaction.atomic():
        rows = list(OwnerObject.objects.select_for_update().filter(sha256=sha).order_by("id"))
        blob = Blob.objects.select_for_update().filter(sha256=sha).first()
        if blob is None or blob.time_created >= before:
            return False
        if any(row.time_modified >= before for row in rows):
            return False
        if StepObject.objects.filter(sha256=sha).exists():
            return False
        OwnerObject.objects.filter(pk__in=[row.pk for row in rows]).delete()
        blob.delete()
        # Inside the transaction: until it commits, an upload of this sha
        # waits on the Blob row, so it cannot install bytes we then delete.
        store.delete(sha)
    log.info("collected object %s (%s owner rows)", sha, len(rows))
    return True


def expire_grants(before: dt.datetime) -> int:
    """Forget upload grants that were never used and whose URLs have long expired."""
    deleted, _ = OwnerObject.objects.filter(
        kind=OwnerObject.Kind.PENDING, time_modified__lt=before
    ).delete()
    return deleted


def stale_grants(before: dt.datetime):
    """For ``sweep_uploads``: which of the given grant ids are gone or older than ``before``."""

    def stale(ids: list[str]) -> list[str]:
        live = set(
            OwnerObject.objects.filter(pk__in=ids, time_modified__gte=before).values_list(
                "pk", flat=True
            )
        )
        return [grant for grant in ids if grant not in live]

    return stale


def sweep_uploads(before: dt.datetime) -> int:
    """Delete unfinished uploads (temporary files, S3 staging keys) of stale grants."""
    return get_store().sweep_uploads(before, stale_grants(before))
