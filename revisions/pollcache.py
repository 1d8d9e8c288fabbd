"""The version of each device's poll answer: what says "your trail changed".

Services call :func:`changed` whenever a commit changes one of a trail's
revisions or its device; the poll view (revisions/api/poll.py) serves a
cached answer only while the version it was stored under is current. It
lives here, below the services and the API alike, so that the services
never import the API.
"""

from __future__ import annotations

import logging
import secrets

import redis
from django.core.cache import cache
from django.db import transaction

from revisions import poll_memo

log = logging.getLogger(__name__)

ANSWER_TTL = 24 * 3600

#: What a cache call raises while Redis cannot be reached (restarting, failed over,
#: unreachable): a poll is then answered from the database, and nothing is stored.
CACHE_DOWN = (redis.RedisError, OSError)


def version_key(device_id: str) -> str:
    return f"trail-version:{device_id}"


def answer_key(device_id: str) -> str:
    return f"poll:{device_id}"


def changed(device_id: str) -> None:
    """The device's poll answer may have changed: a new version now, and another once the
    transaction commits (an answer read from the database before the commit is stored
    under the first, which the second replaces)."""
    key = version_key(device_id)
    memo = poll_memo.memo()

    def renew() -> None:
        cache.set(key, secrets.token_hex(8), None)
        if memo is not None:
            memo.announce(device_id)

    renew()
    transaction.on_commit(renew)


def version(device_id: str) -> str | None:
    """The trail's current version (made when there is none, e.g. evicted from the cache);
    None while the cache cannot be reached: the answer is then not stored."""
    key = version_key(device_id)
    try:
        cache.add(key, secrets.token_hex(8), None)
        return cache.get(key)
    except CACHE_DOWN as exc:
        log.warning("poll cache unreachable, answering from the database: %s", exc)
        return None
