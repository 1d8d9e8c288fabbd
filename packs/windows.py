"""Maintenance windows: when a pack's waves may start (docs/packs.md).

A pack may name a start time (``start_at``: no wave starts before it) and
windows in a time zone::

    [{"days": ["mon", "tue"], "from": "22:00", "to": "04:00"}]

A window opens on each of its days at ``from`` (wall-clock time in the zone)
and closes at ``to``; a ``to`` not after ``from`` is on the next day (the
window crosses midnight), ``"24:00"`` is the end of the day. Without windows,
a wave may start at any time after ``start_at``. Daylight saving time is the
wall clock's: a window from 02:30 on the night the clocks skip 02:00-03:00
opens at 03:00, and the hour that happens twice is in a window both times.

:func:`in_window` and :func:`next_window_start` are the one rule the waves, the
sweep and the pack page use. Pure: no Django.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from zoneinfo import ZoneInfo, available_timezones

from portal.errors import DomainError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_WINDOWS = 16
_TIME = re.compile(r"([01]\d|2[0-3]):([0-5]\d)|24:00")
_END_OF_DAY = dt.timedelta(days=1)
#: How far :func:`next_window_start` looks: any window comes back within a week,
#: and one that falls in a DST gap this week opens the week after.
_HORIZON_DAYS = 15


def _bad(message: str, code: str = "bad-windows") -> DomainError:
    return DomainError(message, code, 400)


def clean_timezone(value) -> str:
    """A zoneinfo key (``Europe/Berlin``, ``UTC``), or a 400 ``bad-timezone``."""
    if not isinstance(value, str) or not value or value not in _zones():
        raise _bad(
            f"{str(value)[:60]!r} is not a time zone: use a tz database name such as"
            " Europe/Berlin or UTC",
            "bad-timezone",
        )
    return value


def _zones() -> set[str]:
    global _ZONES
    if _ZONES is None:
        _ZONES = available_timezones() | {"UTC"}
    return _ZONES


_ZONES: set[str] | None = None


def _offset(text: str) -> dt.timedelta:
    hours, minutes = text.split(":")
    return dt.timedelta(hours=int(hours), minutes=int(minutes))


def clean_windows(value) -> list[dict]:
    """``value`` as stored windows (``[]``: always), or a 400 ``bad-windows`` naming the fault."""
    if not isinstance(value, list) or len(value) > MAX_WINDOWS:
        raise _bad(f"windows must be a list of at most {MAX_WINDOWS} windows")
    windows = []
    for number, window in enumerate(value, start=1):
        where = f"window {number}"
        if not isinstance(window, Mapping) or set(window) != {"days", "from", "to"}:
            raise _bad(f'{where} must be an object of "days", "from" and "to"')
        days = window["days"]
        if (
            not isinstance(days, list)
            or not days
            or not all(isinstance(d, str) and d.lower() in DAYS for d in days)
        ):
            raise _bad(f"{where}: days must be a list of {', '.join(DAYS)}")
        for key in ("from", "to"):
            if not isinstance(window[key], str) or not _TIME.fullmatch(window[key]):
                raise _bad(f'{where}: "{key}" must be a time HH:MM (00:00 to 24:00)')
        if window["from"] == "24:00":
            raise _bad(f'{where}: "from" must be before 24:00')
        if _offset(window["from"]) == _offset(window["to"]) % _END_OF_DAY:
            raise _bad(f'{where}: "from" and "to" are the same time; the window would be empty')
        ordered = [d for d in DAYS if d in {d.lower() for d in days}]
        windows.append({"days": ordered, "from": window["from"], "to": window["to"]})
    return windows


def _span(window: Mapping) -> tuple[dt.timedelta, dt.timedelta]:
    """The window's opening and closing as times since its day's midnight (closing may
    be past 24:00: the window crosses midnight)."""
    start, end = _offset(window["from"]), _offset(window["to"])
    if end <= start:
        end += _END_OF_DAY
    return start, end


def _wall(now: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """``now``'s wall-clock time in ``zone``, naive (what windows are written in)."""
    return now.astimezone(zone).replace(tzinfo=None, fold=0)


def open_now(windows: Sequence[Mapping], timezone: str, now: dt.datetime) -> bool:
    """Whether the wall clock in ``timezone`` at ``now`` is inside one of ``windows``."""
    if not windows:
        return True
    wall = _wall(now, ZoneInfo(timezone))
    for window in windows:
        start, end = _span(window)
        for back in (0, 1):  # today's window, or yesterday's crossing midnight
            day = wall.date() - dt.timedelta(days=back)
            if DAYS[day.weekday()] not in window["days"]:
                continue
            since = wall - dt.datetime.combine(day, dt.time())
            if start <= since < end:
                return True
    return False


def in_window(
    windows: Sequence[Mapping], timezone: str, start_at: dt.datetime | None, now: dt.datetime
) -> bool:
    """Whether a wave may start at ``now``: after ``start_at`` and inside a window."""
    if start_at is not None and now < start_at:
        return False
    return open_now(windows, timezone, now)


def _openings(window: Mapping, day: dt.date, zone: ZoneInfo) -> list[dt.datetime]:
    """The instants (UTC) at which ``window`` may open on ``day``: its wall-clock
    opening (both, when the clocks go back over it), or the end of the DST gap it
    falls in."""
    start, _end = _span(window)
    wall = dt.datetime.combine(day, dt.time()) + start
    first = wall.replace(tzinfo=zone, fold=0).astimezone(dt.UTC)
    second = wall.replace(tzinfo=zone, fold=1).astimezone(dt.UTC)
    if first <= second:
        return [first, second]
    # A wall time the clocks skip: fold=1 reads it with the offset after the change
    # (earlier in UTC), fold=0 with the one before. The gap ends between them.
    return [_first_after(second, first, lambda t: _wall(t, zone) >= wall)]


def _first_after(low: dt.datetime, high: dt.datetime, changed) -> dt.datetime:
    """The first second in ``(low, high]`` at which ``changed`` holds (it holds at ``high``)."""
    while high - low > dt.timedelta(seconds=1):
        middle = low + (high - low) / 2
        if changed(middle):
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0)


def _transitions(zone: ZoneInfo, start: dt.datetime, days: int) -> list[dt.datetime]:
    """The instants the clocks of ``zone`` change between ``start`` and ``days`` later:
    a window may open there without its wall-clock opening (the hour the clocks go
    back brings 02:00 again)."""
    found = []
    step = dt.timedelta(hours=6)
    low = start
    for _ in range(days * 4):
        high = low + step
        before = low.astimezone(zone).utcoffset()
        if high.astimezone(zone).utcoffset() != before:
            found.append(
                _first_after(low, high, lambda t, b=before: t.astimezone(zone).utcoffset() != b)
            )
        low = high
    return found


def next_window_start(
    windows: Sequence[Mapping], timezone: str, start_at: dt.datetime | None, now: dt.datetime
) -> dt.datetime | None:
    """The first instant at or after ``now`` when a wave may start (``now`` itself when
    it may already); None only when no window ever opens (it cannot, once validated)."""
    if start_at is not None and now < start_at:
        now = start_at
    if open_now(windows, timezone, now):
        return now
    zone = ZoneInfo(timezone)
    today = _wall(now, zone).date()
    candidates = sorted(
        instant
        for offset in range(-1, _HORIZON_DAYS)
        for window in windows
        if DAYS[(day := today + dt.timedelta(days=offset)).weekday()] in window["days"]
        for instant in _openings(window, day, zone)
        if instant > now
    )
    candidates = sorted(
        [*candidates, *(t for t in _transitions(zone, now, _HORIZON_DAYS) if t > now)]
    )
    return next((c for c in candidates if open_now(windows, timezone, c)), None)
