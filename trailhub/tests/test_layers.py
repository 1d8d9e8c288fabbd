"""The channel layers of trailhub/layers.py, the Redis one as trailhub/settings.py configures it
(on the Redis at 127.0.0.1:6379, in a database of this run's own: ``redis_db``)."""

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid

import pytest

from trailhub.layers import InMemoryChannelLayer
from trailhub.tests.test_settings import _ALL_VARS, ROOT


def configured_layer(redis_url, **host):
    """The channel layer trailhub/settings.py configures for the Redis at ``redis_url``,
    with ``host`` overriding its host settings."""
    from django.utils.module_loading import import_string

    probe = "import json, django; from django.conf import settings; django.setup(); "
    probe += "print(json.dumps(settings.CHANNEL_LAYERS['default']))"
    env = {
        "REDIS_URL": redis_url,
        "DATABASE_URL": "postgres://x@h/db",
        # A prefix of this run's own: flush() then empties this run's keys, never those
        # of another run sharing the Redis.
        "REDIS_PREFIX": f"test-layers-{uuid.uuid4().hex[:12]}",
    }
    clean = {k: v for k, v in os.environ.items() if k not in _ALL_VARS}
    clean.update(DJANGO_SETTINGS_MODULE="trailhub.settings", SECRET_KEY="x" * 40, **env)
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=clean, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    layer = json.loads(result.stdout)
    config = layer["CONFIG"]
    config["hosts"] = [{**config["hosts"][0], **host}]
    return import_string(layer["BACKEND"])(**config)


@pytest.mark.asyncio
async def test_a_burst_of_sockets_waits_for_the_channel_layers_connections(redis_db):
    """Fifty sockets joining a group at once share three connections: they wait their
    turn instead of opening more (or, with redis-py's plain pool, failing)."""
    layer = configured_layer(redis_db, max_connections=3)
    channels = [await layer.new_channel() for _ in range(50)]
    try:
        await asyncio.gather(*(layer.group_add("burst", channel) for channel in channels))
        await layer.group_send("burst", {"type": "event.forward", "n": 2})
        received = await asyncio.wait_for(
            asyncio.gather(*(layer.receive(channel) for channel in channels)), 20
        )
        assert [message["n"] for message in received] == [2] * 50
    finally:
        await layer.flush()


@pytest.mark.asyncio
async def test_the_redis_channel_layer_keeps_an_idle_consumer_waiting(redis_db):
    """An idle consumer (a page nobody changes) waits past channels_redis' 5 s blocking pop
    and still gets the next message: with redis-py 8's default 5 s read timeout, the wait
    raised TimeoutError and the socket was closed (channels_redis#422).

    The configured read timeout must outlast the pop. The wait here is ten times shorter:
    the pop and the configured read timeout (if the settings set a finite one, or leave
    redis-py's default) are both divided by ten, so the same race runs in a second."""
    configured = configured_layer(redis_db)
    pool = configured.connection(0).connection_pool
    read_timeout = pool.connection_class(**pool.connection_kwargs).socket_timeout
    pop = type(configured).brpop_timeout
    assert read_timeout is None or read_timeout > pop, (read_timeout, pop)

    scale = 10
    layer = configured_layer(
        redis_db, socket_timeout=None if read_timeout is None else read_timeout / scale
    )
    layer.brpop_timeout = pop / scale
    channel = await layer.new_channel()
    waiting = asyncio.create_task(layer.receive(channel))
    try:
        await asyncio.sleep(3 * layer.brpop_timeout)  # three pops: nothing to await
        assert not waiting.done(), waiting.exception()
        await layer.send(channel, {"type": "event.forward", "n": 1})
        assert (await asyncio.wait_for(waiting, 10))["n"] == 1
    finally:
        waiting.cancel()
        await layer.flush()


@pytest.mark.asyncio
async def test_group_send_many_sends_only_to_watched_groups(redis_db):
    """Groups are counted in one pipeline: the watched ones get their messages, an empty
    group and one whose only member joined longer than ``group_expiry`` ago are skipped."""
    layer = configured_layer(redis_db)
    watcher, stale = await layer.new_channel(), await layer.new_channel()
    try:
        await layer.group_add("watched", watcher)
        connection = layer.connection(layer.consistent_hash("expired"))
        old = int(time.time()) - layer.group_expiry - 10
        await connection.zadd(layer._group_key("expired"), {stale: old})

        assert await layer.watched_groups({"watched", "empty", "expired"}) == {"watched"}

        event = {"type": "event.forward", "n": 1}
        await layer.group_send_many([("empty", event), ("expired", event), ("watched", event)])
        assert (await asyncio.wait_for(layer.receive(watcher), 5))["n"] == 1
    finally:
        await layer.flush()


@pytest.mark.asyncio
async def test_an_unreachable_redis_counts_every_group_and_raises_nothing(caplog):
    layer = configured_layer("redis://127.0.0.1:1/0", timeout=1)
    assert await layer.watched_groups({"a", "b"}) == {"a", "b"}
    await layer.group_send_many([("a", {"type": "event.forward"})])  # logged, not raised
    assert "could not send a live event to a" in caplog.text


@pytest.mark.asyncio
async def test_the_in_memory_layer_sends_many_too():
    layer = InMemoryChannelLayer()
    channel = await layer.new_channel()
    await layer.group_add("g", channel)
    await layer.group_send_many([("nobody", {"type": "x", "n": 0}), ("g", {"type": "x", "n": 1})])
    assert (await layer.receive(channel))["n"] == 1
