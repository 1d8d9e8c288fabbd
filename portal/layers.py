"""The Channels layer on Redis, with a pool that waits for a connection instead of opening more.

channels_redis gives each process (per event loop) a redis-py connection
pool that opens a new connection whenever all are busy, up to its limit. A
burst of WebSocket connects (every socket joins its groups at once: a
fleet's devices reconnecting after a restart) made each worker open
thousands, until the one Redis that the cache, the Celery broker and the
layer share refused every client on the machine (docs/benchmarks.md, 5).
With redis-py's ``BlockingConnectionPool`` a worker opens at most
``max_connections`` and the rest wait their turn (up to ``timeout`` seconds).
"""

from __future__ import annotations

from channels_redis import core
from redis import asyncio as aioredis


class RedisChannelLayer(core.RedisChannelLayer):
    def create_pool(self, index):
        host = dict(self.hosts[index])
        return aioredis.BlockingConnectionPool.from_url(host.pop("address"), **host)
