"""``GET /logs/``: filters and keyset (cursor) paging over a person's device logs.

The cursor is opaque and signed: it carries the sort order and the position
(time and id of the last entry sent). Send the same filters with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.core import signing
from django.db.models import Q
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiParameter

from devices import services
from devices.models import Device, DeviceLog
from portal.errors import DomainError
from trail.wire import DEVICE_PRN_PREFIX

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
CURSOR_SALT = "devices.logs.cursor"
SORTS = ("-time", "time")

PARAMETERS = [
    OpenApiParameter("dev", str, description="comma-separated device ids or prns"),
    OpenApiParameter("lvl", str, description="comma-separated levels (INFO, ERROR, …)"),
    OpenApiParameter("src", str, description="comma-separated sources"),
    OpenApiParameter("after", str, description="only entries at or after this time (ISO 8601 or unix seconds)"),
    OpenApiParameter("before", str, description="only entries before this time (ISO 8601 or unix seconds)"),
    OpenApiParameter("sort", str, enum=list(SORTS), description="newest first (-time, default) or oldest first"),
    OpenApiParameter("page-size", int, description=f"entries per page, default {DEFAULT_PAGE_SIZE}, at most {MAX_PAGE_SIZE}"),
    OpenApiParameter("cursor", str, description="the next-cursor of the previous page"),
]  # fmt: skip


@dataclass
class Page:
    entries: list[DeviceLog]
    next_cursor: str | None


def _bad(message: str) -> DomainError:
    return DomainError(message, "invalid", 400)


def _csv(params, name: str) -> list[str]:
    return [item.strip() for item in params.get(name, "").split(",") if item.strip()]


def _time(params, name: str) -> datetime | None:
    raw = params.get(name, "").strip()
    if not raw:
        return None
    try:
        return datetime.fromtimestamp(float(raw), tz=UTC)
    except (ValueError, OverflowError, OSError):
        pass
    try:
        value = parse_datetime(raw.replace(" ", "+"))  # a '+' in a query string arrives as ' '
    except ValueError:
        value = None
    if value is None:
        raise _bad(f"{name} must be an ISO 8601 time or unix seconds, got {raw!r}")
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _page_size(params) -> int:
    raw = params.get("page-size", "").strip()
    if not raw:
        return DEFAULT_PAGE_SIZE
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE_SIZE:
        raise _bad(f"page-size must be a number from 1 to {MAX_PAGE_SIZE}")
    return int(raw)


def _devices(user, refs: list[str]) -> list[str]:
    """Device ids from ``dev``; each must be one of the caller's own devices (404/403 otherwise)."""
    ids = [ref.removeprefix(DEVICE_PRN_PREFIX) for ref in refs]
    owned = set(Device.objects.owned_by(user).filter(id__in=ids).values_list("id", flat=True))
    for ref, device_id in zip(refs, ids, strict=True):
        if device_id not in owned:
            services.get_owned_device(user, ref)  # raises the right 404 or 403
    return ids


def encode_cursor(entry: DeviceLog, sort: str) -> str:
    return signing.dumps({"t": entry.time.isoformat(), "i": entry.id, "s": sort}, salt=CURSOR_SALT)


def decode_cursor(raw: str) -> tuple[datetime, int, str]:
    try:
        data = signing.loads(raw, salt=CURSOR_SALT)
        when, entry_id, sort = datetime.fromisoformat(data["t"]), int(data["i"]), data["s"]
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise _bad("invalid cursor; start again without one") from None
    if sort not in SORTS:
        raise _bad("invalid cursor; start again without one")
    return when, entry_id, sort


def page(user, params) -> Page:
    """One page of the log entries ``user`` may read, filtered by ``params``."""
    entries = DeviceLog.objects.visible_to(user)
    if dev := _csv(params, "dev"):
        entries = entries.filter(device_id__in=_devices(user, dev))
    if levels := _csv(params, "lvl"):
        entries = entries.filter(lvl__in=[level.upper() for level in levels])
    if sources := _csv(params, "src"):
        entries = entries.filter(src__in=sources)
    if (after := _time(params, "after")) is not None:
        entries = entries.filter(time__gte=after)
    if (before := _time(params, "before")) is not None:
        entries = entries.filter(time__lt=before)
    sort = params.get("sort", "-time").strip() or "-time"
    if sort not in SORTS:
        raise _bad("sort must be -time (newest first) or time (oldest first)")
    if raw_cursor := params.get("cursor", "").strip():
        when, last_id, sort = decode_cursor(raw_cursor)
        if sort == "-time":
            entries = entries.filter(Q(time__lt=when) | Q(time=when, id__lt=last_id))
        else:
            entries = entries.filter(Q(time__gt=when) | Q(time=when, id__gt=last_id))
    size = _page_size(params)
    order = ("-time", "-id") if sort == "-time" else ("time", "id")
    rows = list(entries.order_by(*order)[: size + 1])
    next_cursor = encode_cursor(rows[size - 1], sort) if len(rows) > size else None
    return Page(entries=rows[:size], next_cursor=next_cursor)
