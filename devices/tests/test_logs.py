from datetime import UTC, datetime

import pytest

from devices import services, tasks
from devices.models import DeviceLog

pytestmark = pytest.mark.django_db

ENTRY = {
    "src": "pantavisor",
    "msg": "booted",
    "lvl": "INFO",
    "tsec": 1_700_000_000,
    "tnano": 250_000_000,
    "plat": "bsp",
    "rev": "3",
}


def post_logs(api, body):
    return api.post("/logs/", body, format="json")


def make_logs(device, count, **fields):
    entries = [{"msg": f"line {n}", "tsec": 1_700_000_000 + n, **fields} for n in range(count)]
    return services.post_logs(device, entries)


def test_a_device_posts_one_entry(api, device):
    response = post_logs(api.as_(device), ENTRY)
    assert response.status_code == 200
    [stored] = DeviceLog.objects.all()
    assert stored.device == device
    assert (stored.src, stored.msg, stored.lvl, stored.plat, stored.rev) == (
        "pantavisor", "booted", "INFO", "bsp", "3"
    )  # fmt: skip
    assert stored.time == datetime(2023, 11, 14, 22, 13, 20, 250_000, tzinfo=UTC)
    [answer] = response.json()
    assert answer["dev"] == device.prn and answer["own"] == device.owner.prn
    assert answer["msg"] == "booted" and answer["tsec"] == 1_700_000_000


def test_a_device_posts_a_list_and_entries_without_time_get_the_arrival_time(api, device):
    before = datetime.now(UTC)
    response = post_logs(api.as_(device), [ENTRY, {"msg": "no time", "lvl": "warn"}])
    assert response.status_code == 200
    assert len(response.json()) == 2
    latest = DeviceLog.objects.get(msg="no time")
    assert latest.time >= before.replace(microsecond=0)
    assert latest.lvl == "WARN"


def test_entries_always_belong_to_the_posting_device(api, device, sibling):
    post_logs(api.as_(device), {**ENTRY, "dev": sibling.prn, "own": "prn:::accounts:/x"})
    assert DeviceLog.objects.get().device_id == device.id


def test_only_devices_post_logs(api, owner, device):
    assert post_logs(api, ENTRY).status_code == 401
    response = post_logs(api.as_(owner), ENTRY)
    assert response.status_code == 403
    assert response.json()["code"] == "device-only"
    assert not DeviceLog.objects.exists()


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ([{"msg": "x"}, "not an object"], 400),
        ([{"msg": "x"}, {"msg": "y", "tnano": 2_000_000_000}], 400),
        ({"msg": "x", "tsec": -1}, 400),
        ({"lvl": "INFO"}, 400),
        ("just text", 400),
    ],
)
def test_it_refuses_bad_entries_and_stores_none_of_the_batch(api, device, body, status):
    response = post_logs(api.as_(device), body)
    assert response.status_code == status
    assert response.json()["error"]
    assert not DeviceLog.objects.exists()


def test_it_refuses_a_batch_over_the_entry_limit(api, device, settings):
    settings.DEVICE_LOG_BATCH_MAX_ENTRIES = 3
    response = post_logs(api.as_(device), [{"msg": "x"}] * 4)
    assert response.status_code == 413
    assert response.json()["code"] == "too-large"
    assert not DeviceLog.objects.exists()
    assert post_logs(api, [{"msg": "x"}] * 3).status_code == 200


def test_it_refuses_a_body_over_the_byte_limit(api, device, settings):
    settings.DEVICE_LOG_BATCH_MAX_BYTES = 1024
    response = post_logs(api.as_(device), [{"msg": "x" * 600}, {"msg": "y" * 600}])
    assert response.status_code == 413
    assert "1024 bytes" in response.json()["error"]
    assert not DeviceLog.objects.exists()


# --- Reading -------------------------------------------------------------------


def test_the_owner_reads_only_their_devices_logs(api, owner, outsider, device, make_device):
    theirs = make_device(outsider, nick="theirs")
    make_logs(device, 2)
    make_logs(theirs, 3)
    body = api.as_(owner).get("/logs/").json()
    assert [e["msg"] for e in body["entries"]] == ["line 1", "line 0"]  # newest first
    assert all(e["dev"] == device.prn and e["own"] == owner.prn for e in body["entries"])
    assert body["next-cursor"] is None


def test_it_filters_by_device_level_source_and_time(api, owner, device, sibling):
    make_logs(device, 3, lvl="INFO", src="pv")
    make_logs(device, 2, lvl="ERROR", src="app")
    make_logs(sibling, 4, lvl="INFO", src="pv")
    api.as_(owner)

    def msgs(query):
        response = api.get(f"/logs/?{query}")
        assert response.status_code == 200, response.content
        return [(e["dev"], e["msg"]) for e in response.json()["entries"]]

    assert len(msgs(f"dev={device.id}")) == 5
    assert len(msgs(f"dev={sibling.prn}")) == 4
    assert len(msgs(f"dev={device.id},{sibling.id}")) == 9
    assert msgs("lvl=error") == [(device.prn, "line 1"), (device.prn, "line 0")]
    assert len(msgs("src=pv&lvl=INFO,WARN")) == 7
    assert msgs(f"dev={device.id}&after=1700000001&before=1700000002&src=pv") == [
        (device.prn, "line 1")
    ]
    # From tsec 1_700_000_002 on: the device's third line, the sibling's last two.
    assert set(msgs("after=2023-11-14T22:13:22Z")) == {
        (device.prn, "line 2"), (sibling.prn, "line 2"), (sibling.prn, "line 3")
    }  # fmt: skip
    assert msgs(f"dev={device.id}&src=pv&sort=time")[0] == (device.prn, "line 0")


def test_cursor_paging_walks_every_entry_once_in_both_orders(api, owner, device):
    # Several entries share a timestamp: the id breaks ties.
    services.post_logs(
        device, [{"msg": f"m{n}", "tsec": 1_700_000_000 + n // 3} for n in range(10)]
    )
    api.as_(owner)
    for sort in ("-time", "time"):
        seen, cursor, pages = [], None, 0
        while True:
            query = f"page-size=3&sort={sort}" + (f"&cursor={cursor}" if cursor else "")
            body = api.get(f"/logs/?{query}").json()
            seen += [e["msg"] for e in body["entries"]]
            pages += 1
            cursor = body["next-cursor"]
            if cursor is None:
                break
        expected = [f"m{n}" for n in range(10)]
        assert seen == (expected if sort == "time" else expected[::-1])
        assert pages == 4


@pytest.mark.parametrize(
    "query",
    [
        "cursor=forged",
        "page-size=0",
        "page-size=1001",
        "page-size=x",
        "after=yesterday",
        "sort=lvl",
    ],
)
def test_it_refuses_bad_query_parameters(api, owner, device, query):
    response = api.as_(owner).get(f"/logs/?{query}")
    assert response.status_code == 400
    assert response.json()["error"]


def test_filtering_by_a_device_that_is_not_yours(api, owner, outsider, make_device):
    hidden = make_device(outsider, nick="hidden")
    shown = make_device(outsider, nick="shown", public=True)
    make_logs(hidden, 1)
    make_logs(shown, 1)
    api.as_(owner)
    assert api.get(f"/logs/?dev={hidden.id}").status_code == 404
    assert api.get(f"/logs/?dev={shown.id}").status_code == 403


def test_devices_do_not_read_logs(api, device):
    make_logs(device, 1)
    assert api.as_(device).get("/logs/").status_code == 403
    assert api.as_(None).get("/logs/").status_code == 401


def test_reading_a_page_of_logs_takes_two_queries(api, owner, device, django_assert_num_queries):
    make_logs(device, 50)
    api.as_(owner)
    with django_assert_num_queries(2):  # the account, the page
        assert len(api.get("/logs/?page-size=20").json()["entries"]) == 20
    with django_assert_num_queries(3):  # ... and the dev filter's ownership check
        assert len(api.get(f"/logs/?dev={device.id}").json()["entries"]) == 50


# --- Retention -------------------------------------------------------------------


def test_trim_logs_keeps_the_newest_entries_and_is_idempotent(device, sibling, settings):
    settings.DEVICE_LOG_RETENTION = 5
    make_logs(device, 8)
    make_logs(sibling, 3)
    assert tasks.trim_logs(device.id) == 3
    assert tasks.trim_logs(device.id) == 0
    kept = DeviceLog.objects.filter(device=device).order_by("id").values_list("msg", flat=True)
    assert list(kept) == [f"line {n}" for n in range(3, 8)]
    assert DeviceLog.objects.filter(device=sibling).count() == 3


def test_retention_keeps_the_newest_arrivals_even_with_a_wrong_clock(device, settings):
    settings.DEVICE_LOG_RETENTION = 2
    services.post_logs(device, [{"msg": "old clock", "tsec": 2_000_000_000}])
    services.post_logs(device, [{"msg": "a", "tsec": 1}, {"msg": "b", "tsec": 2}])
    tasks.trim_logs(device.id)
    assert sorted(DeviceLog.objects.values_list("msg", flat=True)) == ["a", "b"]


def test_a_post_over_the_limit_queues_a_trim_after_commit(
    api, device, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.DEVICE_LOG_RETENTION = 3
    queued = []
    monkeypatch.setattr(tasks.trim_logs, "delay", queued.append)
    api.as_(device)
    with django_capture_on_commit_callbacks(execute=True):
        post_logs(api, [{"msg": "x"}] * 3)
    assert queued == []
    with django_capture_on_commit_callbacks(execute=True):
        post_logs(api, [{"msg": "y"}])
        assert queued == []  # not before the commit
    assert queued == [device.id]


def test_a_post_over_the_limit_ends_trimmed(
    api, device, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.DEVICE_LOG_RETENTION = 3
    # Run the queued task here, as an eager worker would, whatever the broker.
    monkeypatch.setattr(tasks.trim_logs, "delay", tasks.trim_logs)
    with django_capture_on_commit_callbacks(execute=True):
        post_logs(api.as_(device), [{"msg": str(n)} for n in range(5)])
    assert sorted(DeviceLog.objects.values_list("msg", flat=True)) == ["2", "3", "4"]


def test_the_periodic_sweep_queues_only_devices_over_the_limit(
    device, sibling, settings, monkeypatch
):
    settings.DEVICE_LOG_RETENTION = 2
    make_logs(device, 4)
    make_logs(sibling, 2)
    queued = []
    monkeypatch.setattr(tasks.trim_logs, "delay", queued.append)
    assert tasks.trim_all_logs() == 1
    assert queued == [device.id]


def test_the_sweep_is_on_the_beat_schedule(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["devices.trim-all-logs"]
    assert entry["task"] == tasks.trim_all_logs.name


def test_overlong_fields_are_clipped_rather_than_refused(api, device):
    # A device cannot shorten a line it already wrote; refusing would make it resend for ever.
    long_entry = {"msg": "m" * 100_000, "src": "s" * 300, "plat": "p" * 300, "rev": "r" * 100}
    response = post_logs(api.as_(device), {**long_entry, "lvl": "x" * 40})
    assert response.status_code == 200
    stored = DeviceLog.objects.get()
    assert len(stored.msg) == 100_000
    assert (len(stored.src), len(stored.plat), len(stored.rev), len(stored.lvl)) == (
        255,
        255,
        64,
        32,
    )


def test_a_trim_that_cannot_be_queued_is_logged_and_the_sweep_does_it(
    api, device, settings, broker_down, caplog, django_capture_on_commit_callbacks
):
    settings.DEVICE_LOG_RETENTION = 3
    with django_capture_on_commit_callbacks(execute=True):
        answer = post_logs(api.as_(device), [{"msg": str(n)} for n in range(5)])
    assert answer.status_code == 200  # the lines are saved; only the trim is late
    assert DeviceLog.objects.filter(device=device).count() == 5
    [error] = [r for r in caplog.records if r.name == "portal.queue"]
    assert error.levelname == "ERROR"
    assert "devices.tasks.trim_logs" in error.getMessage()
    assert device.id in error.getMessage()


def test_the_sweep_trims_what_a_lost_enqueue_left(api, device, settings):
    settings.DEVICE_LOG_RETENTION = 3
    make_logs(device, 5)  # as a post whose trim could not be queued leaves them
    from trailhub.celery import app

    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True  # the broker is back: the worker runs what is queued
    try:
        assert tasks.trim_all_logs() == 1
    finally:
        app.conf.task_always_eager = eager
    assert DeviceLog.objects.filter(device=device).count() == 3
