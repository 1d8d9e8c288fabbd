"""Each process's copy of the poll answers: served while unchanged, gone once announced.

These use the Redis on 127.0.0.1:6379 (a database of this run's own, ``redis_db``)
whatever the suite's configuration: the memo exists only with Redis.
"""

from __future__ import annotations

import os
import time

import pytest
import redis
from django.core.cache import cache

from revisions import poll_memo, pollcache, services

SPEC = "pantavisor-service-system@1"


@pytest.fixture
def memo(redis_db):
    found = poll_memo.PollMemo(redis_db, f"test-{time.monotonic_ns()}:trail-changed")
    found.get("warm-up")  # starts the listener
    assert found.listening.wait(10)
    return found


def eventually(condition, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    return condition()


def test_it_serves_what_it_kept(memo):
    memo.keep("d1", memo.generation("d1"), '"e1"', b"[]")
    assert memo.get("d1") == ('"e1"', b"[]")
    assert memo.get("d2") is None


def test_another_process_announcing_a_change_drops_the_copy(memo, redis_db):
    memo.keep("d1", memo.generation("d1"), '"e1"', b"[]")
    memo.keep("d2", memo.generation("d2"), '"e2"', b"[]")
    redis.Redis.from_url(redis_db).publish(memo.channel, "d1")  # as another worker's changed()
    assert eventually(lambda: memo.get("d1") is None)
    assert memo.get("d2") == ('"e2"', b"[]")


def test_an_answer_read_before_an_announcement_is_not_kept(memo):
    generation = memo.generation("d1")  # a poll reads the generation, then Redis…
    memo.drop("d1")  # …while the device's answer changes…
    memo.keep("d1", generation, '"old"', b"[]")  # …and then keeps what it read
    assert memo.get("d1") is None


def test_the_generations_take_the_same_room_however_many_devices_are_announced(memo):
    for n in range(3 * poll_memo.GENERATION_SLOTS):
        memo.drop(f"device-{n}")
    assert len(memo.generations) == poll_memo.GENERATION_SLOTS
    generation = memo.generation("d1")  # and each device's still refuses a stale copy
    memo.drop("d1")
    memo.keep("d1", generation, '"old"', b"[]")
    assert memo.get("d1") is None


def test_copies_expire(memo, settings):
    settings.POLL_MEMO_SECONDS = -1  # already expired when kept
    memo.keep("d1", memo.generation("d1"), '"e1"', b"[]")
    assert memo.get("d1") is None


def test_nothing_is_served_or_kept_while_the_channel_is_lost(memo):
    memo.keep("d1", memo.generation("d1"), '"e1"', b"[]")
    memo.listening.clear()  # as when the listener's connection drops
    assert memo.get("d1") is None
    memo.keep("d2", memo.generation("d2"), '"e2"', b"[]")
    assert "d2" not in memo.entries


def test_a_lost_connection_drops_every_copy_and_listens_again(memo, redis_db, monkeypatch):
    monkeypatch.setattr(poll_memo, "RECONNECT_DELAY", 0.01)
    memo.keep("d1", memo.generation("d1"), '"e1"', b"[]")
    client = redis.Redis.from_url(redis_db)
    name = f"trailhub-poll-memo-{os.getpid()}"
    for connection in client.client_list(_type="pubsub"):  # the listener's connection
        if connection["name"] == name:
            client.client_kill_filter(_id=connection["id"])
    assert eventually(lambda: "d1" not in memo.entries)
    assert eventually(memo.listening.is_set)
    memo.keep("d1", memo.generation("d1"), '"e2"', b"[]")
    assert memo.get("d1") == ('"e2"', b"[]")


def test_the_poll_is_answered_from_the_memo_and_afresh_after_a_change(
    api, owner, device, trail_of, settings, monkeypatch, redis_db
):
    settings.REDIS_URL = redis_db
    trail = trail_of(device, {"#spec": SPEC})
    client = api.as_(device)
    first = client.get(f"/trails/{device.id}/steps")  # the full view
    assert poll_memo.memo().listening.wait(10)  # its listener started with that poll
    assert client.get(f"/trails/{device.id}/steps").content == first.content  # kept
    assert poll_memo.memo().get(device.id) is not None

    def no_round_trip(keys):
        raise AssertionError("the memo should have answered")

    with monkeypatch.context() as patched:
        patched.setattr(cache, "get_many", no_round_trip)
        again = client.get(f"/trails/{device.id}/steps", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304

    services.post_step(trail, {"#spec": SPEC, "a.json": 1}, author=owner)
    after = client.get(f"/trails/{device.id}/steps")
    assert [step["rev"] for step in after.json()] == [1]
    pollcache.changed(device.id)  # announced, and dropped in this process at once
    assert poll_memo.memo().get(device.id) is None


def test_a_quiet_channel_keeps_its_copies(redis_db):
    """Longer than the client's read timeout without an announcement (a fleet where
    nothing changes): the listener keeps listening and the copies stay. The memo's
    client has redis-py's 5 s default; this one a 0.5 s one, so the wait is short."""
    memo = poll_memo.PollMemo(redis_db, f"test-{time.monotonic_ns()}:trail-changed", 0.5)
    assert memo.client.connection_pool.connection_kwargs["socket_timeout"] == 0.5
    memo.get("warm-up")
    assert memo.listening.wait(10)
    memo.keep("d1", memo.generation("d1"), '"e1"', b"[]")
    time.sleep(1.5)  # three read timeouts: nothing to await, the test is that nothing happens
    assert memo.listening.is_set()
    assert memo.get("d1") == ('"e1"', b"[]")
