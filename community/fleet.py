"""The dashboard's fleet: a person's own devices, searched, filtered, counted and paged.

For hundreds to thousands of devices, in a fixed number of queries whatever
their number or the page:

* the person's packs (what the pack filter, the pack column and the bulk
  action's pack list show): one query (:func:`owned_packs`);
* the counts by the status of the newest revision, under every filter but
  the status one: one ``GROUP BY`` (:func:`status_counts`); they are also the
  number of devices the page needs, so paging costs no ``COUNT``;
* the page's ids in order, then the page's rows with the card annotations of
  ``community.querysets`` and the pack each follows (:func:`page`).

Visibility is ``Device.objects.owned_by`` (the dashboard is the owner's), the
newest revision ``revisions.querysets.with_revisions``, packs
``Pack.objects.visible_to``. The filters come cleaned by
``community.forms.FleetFilterForm``.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.core.paginator import Page, Paginator
from django.db.models import Count, F, Q, QuerySet, TextField
from django.db.models.functions import Cast

from community.querysets import cards
from community.templatetags.community import TEMPLATE, status_class, status_word
from devices.models import Device
from packs.models import Pack
from revisions.querysets import with_revisions
from trail import status as st
from trail import wire

PAGE_SIZE = 50
#: The status filter's value for a device with no revision yet, and the pack filter's
#: for a device in no pack (following none, leading none).
NONE = "none"
ONLINE, OFFLINE = "online", "offline"
PUBLIC, PRIVATE = "public", "private"
#: Every value of the status filter, in the order the counts are shown: the statuses as
#: the pages word them (a template's NEW revision reads "template"), then no revision.
STATUSES = (st.NEW, TEMPLATE, *(s for s in st.STATUSES if s != st.NEW), NONE)
PRESENCES = (ONLINE, OFFLINE, TEMPLATE)
VISIBILITIES = (PUBLIC, PRIVATE)
SORTS = {
    "nick": ("nick", "id"),
    "seen": (F("last_seen").desc(nulls_last=True), "nick", "id"),
}
DEFAULT_SORT = "nick"


def owned_packs(user) -> list[Pack]:
    """``user``'s packs by nick: what devices may be added to, and filtered by."""
    return list(Pack.objects.visible_to(user).only("id", "nick", "leader").order_by("nick", "id"))


def search(devices: QuerySet, q: str) -> QuerySet:
    """Devices whose nick, id (or prn), tags or device-meta contains ``q``, in any case.

    The device-meta and the tags are searched as their JSON text: keys and values alike.
    """
    q = q.strip().removeprefix(wire.DEVICE_PRN_PREFIX)
    if not q:
        return devices
    return devices.annotate(
        device_meta_text=Cast("device_meta", TextField()), tags_text=Cast("tags", TextField())
    ).filter(
        Q(nick__icontains=q)
        | Q(id__icontains=q)
        | Q(device_meta_text__icontains=q)
        | Q(tags_text__icontains=q)
    )


def filtered(user, filters: dict, packs: list[Pack], now: dt.datetime | None = None) -> QuerySet:
    """``user``'s devices that pass every filter in ``filters`` but the status one.

    ``presence`` is online or offline (devices with hardware, as
    ``DeviceQuerySet.online``/``offline`` tell) or template (no hardware);
    ``pack`` a pack's id (its followers and its leader) or ``none``;
    ``visibility`` public or private.
    """
    devices = search(Device.objects.owned_by(user), filters.get("q") or "")
    presence = filters.get("presence")
    if presence == ONLINE:
        devices = devices.online(now).filter(has_hardware=True)
    elif presence == OFFLINE:
        devices = devices.offline(now).filter(has_hardware=True)
    elif presence == TEMPLATE:
        devices = devices.filter(has_hardware=False)
    visibility = filters.get("visibility")
    if visibility == PUBLIC:
        devices = devices.public()
    elif visibility == PRIVATE:
        devices = devices.filter(public=False)
    pack = filters.get("pack")
    if pack == NONE:
        leaders = {p.leader_id for p in packs}
        devices = devices.filter(pack_membership__isnull=True).exclude(id__in=leaders)
    elif pack:
        leaders = {p.leader_id for p in packs if p.id == pack}
        devices = devices.filter(Q(pack_membership__pack_id=pack) | Q(id__in=leaders))
    return devices


def with_status(devices: QuerySet, status: str) -> QuerySet:
    """The ``devices`` whose newest revision's status, as the pages word it, is ``status``."""
    devices = with_revisions(devices, head=("status",))
    if status == NONE:
        return devices.filter(head_status__isnull=True)
    if status == TEMPLATE:
        return devices.filter(head_status=st.NEW, has_hardware=False)
    if status == st.NEW:
        return devices.filter(head_status=st.NEW, has_hardware=True)
    return devices.filter(head_status=status)


def status_key(status: str | None, has_hardware: bool) -> str:
    """The status filter's value for a device whose newest revision is ``status``."""
    return NONE if status is None else status_word(status, has_hardware)


def status_counts(devices: QuerySet) -> dict[str, int]:
    """How many of ``devices`` have each newest-revision status (only those some have),
    in the order of :data:`STATUSES`: one query."""
    rows = (
        with_revisions(devices, head=("status",))
        .values("head_status", "has_hardware")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts = dict.fromkeys(STATUSES, 0)
    for row in rows:
        counts[status_key(row["head_status"], row["has_hardware"])] += row["n"]
    return {key: n for key, n in counts.items() if n}


@dataclass(frozen=True)
class StatusCount:
    """One count the dashboard shows (and links to, as a filter)."""

    key: str
    count: int
    css: str

    @property
    def label(self) -> str:
        return "no revisions" if self.key == NONE else self.key


def count_list(counts: dict[str, int]) -> list[StatusCount]:
    def css(key: str) -> str:
        if key == NONE:
            return "muted"
        return status_class(st.NEW, False) if key == TEMPLATE else status_class(key)

    return [StatusCount(key, n, css(key)) for key, n in counts.items()]


def rows(ids: list[str], user, packs: list[Pack]) -> list[Device]:
    """The devices ``ids`` in that order, as the dashboard's rows: their card annotations,
    ``follows_pack_id``/``follows_pack_nick`` (the pack each follows) and ``leads`` (the
    packs of ``packs`` each leads)."""
    devices = cards(
        ids,
        user,
        follows_pack_id=F("pack_membership__pack"),
        follows_pack_nick=F("pack_membership__pack__nick"),
    )
    led: dict[str, list[Pack]] = defaultdict(list)
    for pack in packs:
        led[pack.leader_id].append(pack)
    for device in devices:
        device.leads = led.get(device.id, [])
    return devices


def page(
    devices: QuerySet, counts: dict[str, int], filters: dict, number, user, packs: list[Pack]
) -> Page:
    """Page ``number`` of ``devices`` (as :func:`filtered` gave them, ``counts`` their
    :func:`status_counts`) under the status filter, in the order ``filters["sort"]`` names.

    The number of devices is read from ``counts``; only the sort key is computed
    for the rows passed over, then the page's rows are annotated (:func:`rows`).
    """
    status = filters.get("status")
    if status:
        devices = with_status(devices, status)
    ordered = devices.order_by(*SORTS.get(filters.get("sort") or DEFAULT_SORT, SORTS["nick"]))
    paginator = Paginator(ordered.values_list("id", flat=True), PAGE_SIZE)
    # Known from the counts: no COUNT query (Paginator.count is a cached property).
    paginator.count = counts.get(status, 0) if status else sum(counts.values())
    found = paginator.get_page(number)
    found.object_list = rows(list(found.object_list), user, packs)
    return found
