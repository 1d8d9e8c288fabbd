"""Device listings for the pages: counts, newest revision and lineage in one query.

Each function takes a Device queryset that is already filtered by
``Device.objects.visible_to`` and adds what the pages show as annotations
(correlated subqueries), so that a list runs one query for any number of
devices instead of one per device. Lists first pick the ids of a page in
order, computing only the sort key, then annotate those few rows
(:func:`page_of`): a deep page of 10,000 devices costs what the first does.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.paginator import Page, Paginator
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
from django.shortcuts import get_object_or_404

from community.models import Fork, Star
from devices.models import Device
from revisions.models import Step
from revisions.querysets import with_revisions
from trail.apps.platform import platforms_of

SORTS = {
    "stars": ("-star_count", "-activity", "id"),
    "forks": ("-fork_count", "-activity", "id"),
    "recent": ("-activity", "id"),
}
DEFAULT_SORT = "recent"
#: The longest search the pages and the API take (the page cuts it, the API refuses it).
MAX_QUERY = 100


def public_devices() -> QuerySet:
    """What explore lists and the home page shelves hold: public, claimed devices.

    Never a private one, not even the caller's own: explore is the public square.
    """
    return Device.objects.public().filter(owner__isnull=False)


def person_named(nick: str):
    """The active account called ``nick`` (a profile's owner), or 404."""
    return get_object_or_404(get_user_model(), username=nick, is_active=True)


def devices_of(person, user) -> QuerySet:
    """``person``'s devices that ``user`` may see, most recently active first.

    Their public ones; all of them when ``user`` is ``person``.
    """
    return sort(Device.objects.visible_to(user).filter(owner=person), "recent")


def stargazers(device: Device) -> QuerySet:
    """The stars on ``device`` (each with its user), newest first.

    Who starred a device is as visible as the device: the caller has already
    been shown ``device`` through ``Device.objects.visible_to``.
    """
    return (
        Star.objects.filter(device=device).select_related("user").order_by("-time_created", "-pk")
    )


def forks_of(device: Device, user) -> QuerySet:
    """The forks made from ``device`` into devices ``user`` may see, newest first.

    A fork into someone's private device is never listed to anyone else (the
    fork count on a card still counts it, as a number).
    """
    visible = Device.objects.visible_to(user)
    return Fork.objects.filter(source_device=device, device__in=visible).order_by(
        "-time_created", "-pk"
    )


def _count(model, field: str) -> Subquery:
    rows = (
        model.objects.filter(**{field: OuterRef("pk")})
        .order_by()
        .values(field)
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(rows, output_field=IntegerField()), Value(0))


def with_listing(devices: QuerySet, user=None, *, contents: bool = False) -> QuerySet:
    """Annotate what a device card shows.

    ``star_count``, ``fork_count``, ``head_rev`` / ``head_status`` / ``head_signed``
    (the newest revision, and whether it is signed: ``Step.signed``), ``running_rev``
    (the newest DONE/UPDATED one), ``activity``
    (when its trail last moved, else when it was created) and ``starred``
    (whether ``user`` starred it). With ``contents``, ``head_state`` too (the
    newest revision's state, for :func:`cards` to name its platforms).
    """
    devices = devices.select_related("owner").annotate(
        star_count=_count(Star, "device"),
        fork_count=_count(Fork, "source_device"),
    )
    head = ("rev", "status", "signed", "state") if contents else ("rev", "status", "signed")
    devices = with_revisions(devices, head=head).annotate(
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


def signed_only(devices: QuerySet) -> QuerySet:
    """Devices whose newest revision is signed: every part by intact signatures, whoever
    the signers (``Step.signed``, set when the revision was posted; docs/signing.md)."""
    newest = Step.objects.filter(
        trail_id=OuterRef("pk"), rev=OuterRef("trail__head_rev"), signed=True
    )
    return devices.filter(Exists(newest))


def search(devices: QuerySet, q: str) -> QuerySet:
    """Devices whose nick or description contains ``q`` (case-insensitive)."""
    q = q.strip()
    if not q:
        return devices
    return devices.filter(Q(nick__icontains=q) | Q(description__icontains=q))


def sort(devices: QuerySet, key: str) -> QuerySet:
    """Order by ``key`` (stars, forks or recent), annotating only what the order needs."""
    key = key if key in SORTS else DEFAULT_SORT
    needs = {"activity": Coalesce("trail__last_touched", "time_created")}
    if key == "stars":
        needs["star_count"] = _count(Star, "device")
    elif key == "forks":
        needs["fork_count"] = _count(Fork, "source_device")
    return devices.annotate(**needs).order_by(*SORTS[key])


def cards(ids: list[str], user, *, contents: bool = False, **extra) -> list:
    """The devices ``ids`` (already checked visible) with their card annotations, in that
    order; ``extra`` annotations too (what a list shows besides the card).

    With ``contents``, each also says what it runs and on what, as explore's cards
    show it: ``runs``, the names of its newest revision's platforms, and
    ``runs_on``, the board and architecture its owner publishes (``Device.facts``).
    """
    devices = with_listing(Device.objects.filter(id__in=ids), user, contents=contents)
    if extra:
        devices = devices.annotate(**extra)
    found = {device.id: device for device in devices}
    if contents:
        for device in found.values():
            state = device.head_state or {}
            del device.head_state  # a state can be large; a card keeps only the names
            device.runs = [platform["name"] for platform in platforms_of(state)]
            device.runs_on = device.facts()
    return [found[i] for i in ids if i in found]


def page_of(ordered: QuerySet, number, per_page: int, user, *, contents: bool = False) -> Page:
    """One page of the ``ordered`` devices, each with its card annotations (and
    what it runs, with ``contents``: :func:`cards`).

    Two queries besides the count, whatever the page or the number of
    devices: the page's ids in order (only the sort key is computed for the
    rows passed over), then the cards of those ids alone.
    """
    page = Paginator(ordered.values_list("id", flat=True), per_page).get_page(number)
    page.object_list = cards(list(page.object_list), user, contents=contents)
    return page


def window(ordered: QuerySet, number: int, per_page: int, user) -> tuple[int, list]:
    """Page ``number`` (from 1; past the end, empty) of the ``ordered`` devices with their
    card annotations, and how many devices there are in all: what the API's lists answer.

    As :func:`page_of`, the rows passed over compute only the sort key.
    """
    start = (number - 1) * per_page
    ids = list(ordered.values_list("id", flat=True)[start : start + per_page])
    return ordered.count(), cards(ids, user)


def top(ordered: QuerySet, count: int, user, *, contents: bool = False) -> list:
    """The first ``count`` of the ``ordered`` devices, with their card annotations."""
    return cards(list(ordered.values_list("id", flat=True)[:count]), user, contents=contents)
