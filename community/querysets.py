"""Device listings for the pages: counts, newest revision and lineage in one query.

Each function takes a Device queryset that is already filtered by
``Device.objects.visible_to`` and adds what the pages show as annotations
(correlated subqueries), so that a list runs one query for any number of
devices instead of one per device.
"""

from __future__ import annotations

from django.db.models import (
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce

from community.models import Fork, Star
from devices.models import Device
from revisions.models import Step
from trail import status as st

SORTS = {
    "stars": ("-star_count", "-activity", "id"),
    "forks": ("-fork_count", "-activity", "id"),
    "recent": ("-activity", "id"),
}
DEFAULT_SORT = "recent"


def _count(model, field: str) -> Subquery:
    rows = (
        model.objects.filter(**{field: OuterRef("pk")})
        .order_by()
        .values(field)
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(rows, output_field=IntegerField()), Value(0))


def _newest_step(field: str, **filters) -> Subquery:
    rows = Step.objects.filter(trail_id=OuterRef("pk"), **filters).order_by("-rev")
    return Subquery(rows.values(field)[:1])


def with_listing(devices: QuerySet, user=None) -> QuerySet:
    """Annotate what a device card shows.

    ``star_count``, ``fork_count``, ``head_rev`` / ``head_status`` (the newest
    revision), ``running_rev`` (the newest DONE/UPDATED one), ``activity``
    (when its trail last moved, else when it was created) and ``starred``
    (whether ``user`` starred it).
    """
    devices = devices.select_related("owner").annotate(
        star_count=_count(Star, "device"),
        fork_count=_count(Fork, "source_device"),
        head_rev=_newest_step("rev"),
        head_status=_newest_step("status"),
        running_rev=_newest_step("rev", status__in=st.RUNNING_OK),
        activity=Coalesce("trail__last_touched", "time_created"),
    )
    if user is not None and user.is_authenticated and not getattr(user, "is_device", False):
        starred = Star.objects.filter(device=OuterRef("pk"), user=user)
        devices = devices.annotate(starred=Exists(starred))
    else:
        devices = devices.annotate(starred=Value(False))
    return devices


def with_lineage(devices: QuerySet, user) -> QuerySet:
    """Annotate the newest fork into each device.

    ``fork_label`` (the source's ``owner/nick`` when forked), ``fork_rev``,
    ``fork_source_rev``, and ``fork_source_owner`` / ``fork_source_nick``: the
    source's names now, empty when it is gone or ``user`` may no longer see it.
    """
    newest = Fork.objects.filter(device=OuterRef("pk")).order_by("-time_created", "-pk")
    visible = newest.filter(source_device__in=Device.objects.visible_to(user))

    def field(name: str) -> Subquery:
        rows = visible if name.startswith("source_device__") else newest
        return Subquery(rows.values(name)[:1])

    return devices.annotate(
        fork_label=field("source_label"),
        fork_rev=field("rev"),
        fork_source_rev=field("source_rev"),
        fork_source_owner=field("source_device__owner__username"),
        fork_source_nick=field("source_device__nick"),
    )


def search(devices: QuerySet, q: str) -> QuerySet:
    """Devices whose nick or description contains ``q`` (case-insensitive)."""
    q = q.strip()
    if not q:
        return devices
    return devices.filter(Q(nick__icontains=q) | Q(description__icontains=q))


def sort(devices: QuerySet, key: str) -> QuerySet:
    return devices.order_by(*SORTS.get(key, SORTS[DEFAULT_SORT]))
