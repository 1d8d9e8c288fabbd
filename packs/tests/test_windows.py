"""Maintenance windows (packs/windows.py): the arithmetic, across midnight and DST, and
waves held outside a window and started inside (time frozen by passing ``now``)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from packs import services
from packs import windows as win
from packs.models import Delivery, Rollout
from packs.tests.helpers import head
from portal.errors import DomainError

ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"]
UTC = dt.UTC


@hs.composite
def windows(draw):
    times = hs.sampled_from([f"{h:02d}:{m:02d}" for h in range(24) for m in (0, 15, 30, 45)])
    found = []
    for _ in range(draw(hs.integers(1, 3))):
        start, end = draw(times), draw(hs.one_of(times, hs.just("24:00")))
        if win._offset(start) == win._offset(end) % dt.timedelta(days=1):
            continue
        days = draw(hs.lists(hs.sampled_from(win.DAYS), min_size=1, max_size=7, unique=True))
        found.append({"days": days, "from": start, "to": end})
    return win.clean_windows(found) or [{"days": ["mon"], "from": "01:00", "to": "02:00"}]


# Around the DST changes of 2026 (March, October, November) and ordinary weeks.
instants = hs.datetimes(
    min_value=dt.datetime(2026, 3, 1), max_value=dt.datetime(2026, 11, 30), timezones=hs.just(UTC)
)


@settings(max_examples=300, deadline=None)
@given(windows(), hs.sampled_from(ZONES), instants, hs.floats(0, 1))
def test_the_next_start_is_in_a_window_and_nothing_earlier_is(found, zone, now, share):
    start = win.next_window_start(found, zone, None, now)
    assert start is not None and start >= now
    assert win.in_window(found, zone, None, start)
    if start > now:
        assert not win.in_window(found, zone, None, start - dt.timedelta(seconds=1))
        between = now + (start - now - dt.timedelta(seconds=1)) * share
        assert not win.in_window(found, zone, None, between)


@settings(max_examples=200, deadline=None)
@given(windows(), hs.sampled_from(ZONES), instants, hs.integers(0, 20 * 86400))
def test_no_wave_before_the_start_time(found, zone, now, later):
    start_at = now + dt.timedelta(seconds=later)
    assert not win.in_window(found, zone, start_at, now) or later == 0
    assert win.next_window_start(found, zone, start_at, now) >= start_at


@settings(max_examples=200, deadline=None)
@given(hs.sampled_from(ZONES), instants)
def test_a_window_crossing_midnight_holds_both_sides(zone, now):
    night = [{"days": ["mon"], "from": "22:00", "to": "04:00"}]
    wall = now.astimezone(ZoneInfo(zone))
    expected = (wall.weekday() == 0 and wall.hour >= 22) or (wall.weekday() == 1 and wall.hour < 4)
    assert win.in_window(night, zone, None, now) is expected


def test_a_window_in_the_skipped_hour_opens_when_the_clocks_jump():
    # Berlin: 29 March 2026, 02:00 CET became 03:00 CEST (01:00 UTC).
    found = [{"days": ["sun"], "from": "02:30", "to": "03:30"}]
    start = win.next_window_start(
        found, "Europe/Berlin", None, dt.datetime(2026, 3, 28, tzinfo=UTC)
    )
    assert start == dt.datetime(2026, 3, 29, 1, 0, tzinfo=UTC)


def test_the_hour_that_comes_twice_opens_the_window_again():
    # Berlin: 25 October 2026, 03:00 CEST became 02:00 CET (01:00 UTC).
    found = [{"days": ["sun"], "from": "01:00", "to": "02:30"}]
    after_first = dt.datetime(2026, 10, 25, 0, 45, tzinfo=UTC)  # 02:45 CEST: closed
    assert not win.in_window(found, "Europe/Berlin", None, after_first)
    start = win.next_window_start(found, "Europe/Berlin", None, after_first)
    assert start == dt.datetime(2026, 10, 25, 1, 0, tzinfo=UTC)  # 02:00 CET


@pytest.mark.parametrize(
    "value",
    [
        {},
        [{"days": ["mon"], "from": "22:00"}],
        [{"days": [], "from": "22:00", "to": "23:00"}],
        [{"days": ["monday"], "from": "22:00", "to": "23:00"}],
        [{"days": ["mon"], "from": "25:00", "to": "23:00"}],
        [{"days": ["mon"], "from": "24:00", "to": "23:00"}],
        [{"days": ["mon"], "from": "22:00", "to": "22:00"}],
        [{"days": ["mon"], "from": "00:00", "to": "24:00", "tz": "UTC"}],
    ],
)
def test_bad_windows_are_refused(value):
    with pytest.raises(DomainError) as refused:
        win.clean_windows(value)
    assert refused.value.code == "bad-windows"


def test_a_bad_time_zone_is_refused():
    with pytest.raises(DomainError) as refused:
        win.clean_timezone("Mars/Olympus")
    assert refused.value.code == "bad-timezone"


# --- Waves held and released -------------------------------------------------------

NIGHTS = [{"days": list(win.DAYS), "from": "22:00", "to": "04:00"}]


def midday_zone() -> str:
    """A fixed-offset zone in which it is midday now (12:00-12:59). Posting the release
    evaluates its rollout at the real time, which must be outside the night window
    whenever the test runs (in Berlin it failed between 22:00 and 04:00)."""
    offset = 12 - dt.datetime.now(UTC).hour  # hours east of UTC: -11 to +12
    return f"Etc/GMT{-offset:+d}"  # the POSIX sign: Etc/GMT-2 is two hours east


def local_now(hour: int, zone: str) -> dt.datetime:
    """Today (real date) at ``hour`` o'clock in ``zone``, as UTC."""
    today = dt.datetime.now(ZoneInfo(zone)).date()
    return dt.datetime.combine(today, dt.time(hour), ZoneInfo(zone)).astimezone(UTC)


@pytest.mark.django_db
def test_waves_wait_outside_a_window_and_go_inside(
    make_pack, leader, make_member, post, report, committed
):
    devices = [make_member(f"f{i}") for i in range(2)]
    zone = midday_zone()
    pack = make_pack(leader, devices, canary_share=0.5, wave_size=1, windows=NIGHTS, time_zone=zone)
    noon = local_now(12, zone)
    release = post(leader, 3)
    rollout = Rollout.objects.get(pack=pack, leader_step=release)
    services.evaluate(rollout.id, noon)
    waves = list(rollout.waves.values_list("status", flat=True))
    assert waves == ["pending", "pending"]
    rollout.refresh_from_db()
    assert "waits for a maintenance window" in rollout.status_msg
    assert [head(d).rev for d in devices] == [0, 0]
    assert pack.next_wave_at(noon) == local_now(22, zone)

    committed(services.sweep, local_now(23, zone))  # inside the window: the canary goes
    assert list(rollout.waves.values_list("status", flat=True)) == ["running", "pending"]
    canary = Delivery.objects.get(rollout=rollout, wave__number=1)
    report(canary.step, "DONE")
    committed(
        services.evaluate, rollout.id, local_now(12, zone) + dt.timedelta(days=1)
    )  # next noon: held
    assert list(rollout.waves.values_list("status", flat=True)) == ["passed", "pending"]
    committed(services.sweep, local_now(23, zone) + dt.timedelta(days=1))
    assert list(rollout.waves.values_list("status", flat=True)) == ["passed", "running"]
    assert head(devices[1]).state_sha == release.state_sha


@pytest.mark.django_db
def test_no_wave_before_the_packs_start_time(make_pack, leader, make_member, post, committed):
    start_at = dt.datetime.now(UTC) + dt.timedelta(days=2)
    pack = make_pack(leader, [make_member("f")], start_at=start_at)
    release = post(leader, 3)
    rollout = Rollout.objects.get(pack=pack, leader_step=release)
    assert list(rollout.waves.values_list("status", flat=True)) == ["pending"]
    committed(services.sweep, start_at + dt.timedelta(seconds=1))
    assert list(rollout.waves.values_list("status", flat=True)) == ["running"]
