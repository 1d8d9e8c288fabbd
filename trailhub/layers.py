"""The Channels layers: a commit's events in one call, and on Redis a pool that waits.

``group_send_many`` sends a list of ``(group, message)`` pairs; one group's failure
spares the others. live/events.py sends every commit's events through it.

On Redis, channels_redis gives each process (per event loop) a redis-py
connection pool that opens a new connection whenever all are busy, up to its
limit. A burst of WebSocket connects (every socket joins its groups at once: a
fleet's devices reconnecting after a restart) made each worker open thousands,
until the one Redis that the cache, the Celery broker and the layer share
refused every client on the machine (docs/benchmarks.md, 5). With redis-py's
``BlockingConnectionPool`` a worker opens at most ``max_connections`` and the
rest wait their turn (up to ``timeout`` seconds).

Most groups a fleet's presence is told to have nobody in them (no page open on
that device), and channels_redis spends two round trips on an empty group. The
Redis layer's ``group_send_many`` first counts every group's members in one
pipeline and sends only to the groups that have some.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from typing import Any

from channels.layers import InMemoryChannelLayer as BaseInMemoryChannelLayer
from channels_redis import core
from redis import asyncio as aioredis

log = logging.getLogger(__name__)


class GroupSendMany:
    group_send: Any  # the channel layer's, which this mixes into

    async def group_send_many(self, messages: list[tuple[str, dict]]) -> None:
        """``group_send`` each message in turn; one group's failure spares the others.

        In turn rather than all at once: a batch of presence for hundreds of devices
        would otherwise take as many Redis connections from the pool at the same time.
        """
        for group, message in messages:
            try:
                await self.group_send(group, message)
            except Exception:
                log.exception("could not send a live event to %s", group)


class InMemoryChannelLayer(GroupSendMany, BaseInMemoryChannelLayer):
    """The layer of a hub without Redis (one process: ``make run``, the tests)."""


class RedisChannelLayer(GroupSendMany, core.RedisChannelLayer):
    def create_pool(self, index):
        host = dict(self.hosts[index])
        return aioredis.BlockingConnectionPool.from_url(host.pop("address"), **host)

    async def group_send_many(self, messages: list[tuple[str, dict]]) -> None:
        watched = await self.watched_groups({group for group, _ in messages})
        await super().group_send_many([(g, m) for g, m in messages if g in watched])

    async def watched_groups(self, groups: set[str]) -> set[str]:
        """Those of ``groups`` that have a member, in one pipeline per Redis host.

        A member counts if it joined within ``group_expiry``, as ``group_send``
        counts it; a Redis that cannot answer makes every group count.
        """
        by_host = defaultdict(list)
        for group in sorted(groups):
            by_host[self.consistent_hash(group)].append(group)
        since = int(time.time()) - self.group_expiry
        watched: set[str] = set()
        for index, names in by_host.items():
            try:
                pipe = self.connection(index).pipeline(transaction=False)
                for name in names:
                    pipe.zcount(self._group_key(name), f"({since}", "+inf")
                counts = await pipe.execute()
            except Exception:
                log.exception("could not count the members of %d groups", len(names))
                counts = [1] * len(names)
            watched.update(name for name, count in zip(names, counts, strict=True) if count)
        return watched
