"""Each process's own copy of the poll answers it served, dropped the moment they change.

The cached poll (poll.py) costs one round trip to Redis, for the trail's
version and the stored answer: more than the rest of a poll put together.
With Redis configured, each process therefore also keeps in memory the
answers it served, and listens on a Redis channel on which every
:func:`revisions.pollcache.changed` announces the device whose answer may have changed;
the listener drops that device's copy. So that a copy is never served stale
for longer than an announcement takes to arrive:

* copies are used only while the listener is subscribed, and all of them are
  dropped when it loses its connection;
* an answer is kept only if no announcement for its device arrived since it
  was read from Redis (a *generation* per device, read before the answer);
* every copy expires after ``POLL_MEMO_SECONDS`` whatever happens, and at
  most ``MAX_ENTRIES`` are kept (the oldest go first).

The generations are ``GENERATION_SLOTS`` counters, a device's chosen by the hash
of its id: a fixed size however many devices are announced (one per device
would hold every device ever announced, for good). Devices that share a slot
share a generation, so an announcement for one also refuses a copy of the
other that was being kept at that moment: a copy the next poll reads again.

Without Redis (the embedded configuration) there is one process and the
local-memory cache already is this; no memo is made.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time

import redis
from django.conf import settings

log = logging.getLogger(__name__)

MAX_ENTRIES = 50_000
GENERATION_SLOTS = 65_536
RECONNECT_DELAY = 1.0


class PollMemo:
    """The memo of one process for the Redis at ``url``."""

    def __init__(self, url: str, channel: str, socket_timeout: float | None = None) -> None:
        """``socket_timeout``: the client's read timeout, redis-py's own default when None
        (the listener's blocking wait must outlast it: test_poll_memo shortens it)."""
        self.url, self.channel = url, channel
        timeout = {} if socket_timeout is None else {"socket_timeout": socket_timeout}
        self.client = redis.Redis.from_url(
            url, client_name=f"trailhub-poll-memo-{os.getpid()}", **timeout
        )
        self.entries: dict[str, tuple[float, str, bytes]] = {}  # device -> (expiry, etag, body)
        self.generations = [0] * GENERATION_SLOTS  # by the hash of the device id
        self.listening = threading.Event()
        self.listener: threading.Thread | None = None  # started by the first get()

    def generation(self, device_id: str) -> int:
        """Read before the answer is read from Redis, and passed to :meth:`keep`."""
        return self.generations[hash(device_id) % GENERATION_SLOTS]

    def get(self, device_id: str) -> tuple[str, bytes] | None:
        """The kept ``(etag, body)`` for the device, or None."""
        if self.listener is None:
            self._start_listening()
        entry = self.entries.get(device_id)
        if entry is None or not self.listening.is_set() or entry[0] < time.monotonic():
            return None
        return entry[1], entry[2]

    def keep(self, device_id: str, generation: int, etag: str, body: bytes) -> None:
        if not self.listening.is_set():
            return
        if len(self.entries) >= MAX_ENTRIES:
            # Another thread may change the entries meanwhile: then one too many, for now.
            with contextlib.suppress(StopIteration, KeyError, RuntimeError):
                del self.entries[next(iter(self.entries))]
        self.entries[device_id] = (time.monotonic() + settings.POLL_MEMO_SECONDS, etag, body)
        # Stored first, checked after: an announcement that arrives at any point
        # in between bumps the generation, and then the copy goes.
        if self.generation(device_id) != generation:
            self.entries.pop(device_id, None)

    def drop(self, device_id: str) -> None:
        self.generations[hash(device_id) % GENERATION_SLOTS] += 1
        self.entries.pop(device_id, None)

    def announce(self, device_id: str) -> None:
        """Tell every process (this one at once) that the device's answer may have changed."""
        self.drop(device_id)
        self.client.publish(self.channel, device_id)

    def _start_listening(self) -> None:
        with _lock:
            if self.listener is None:
                self.listener = threading.Thread(target=self._listen, name="poll-memo", daemon=True)
                self.listener.start()

    def _listen(self) -> None:
        while True:
            pubsub = self.client.pubsub()
            try:
                pubsub.subscribe(self.channel)
                for message in pubsub.listen():
                    if message["type"] == "subscribe":
                        self.entries.clear()
                        self.listening.set()
                    elif message["type"] == "message":
                        self.drop(message["data"].decode())
            except Exception:
                log.warning("poll memo: lost the Redis channel; retrying", exc_info=True)
            finally:
                self.listening.clear()
                self.entries.clear()
                pubsub.close()
            time.sleep(RECONNECT_DELAY)


_memos: dict[tuple[int, str], PollMemo] = {}
_lock = threading.Lock()


def memo() -> PollMemo | None:
    """This process's memo, made on first use (its listener starts with the first poll it
    answers); None without Redis or with ``POLL_MEMO_SECONDS`` 0."""
    if not settings.REDIS_URL or not settings.POLL_MEMO_SECONDS:
        return None
    key = (os.getpid(), settings.REDIS_URL)
    found = _memos.get(key)
    if found is None:
        with _lock:
            found = _memos.get(key)
            if found is None:
                prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
                db = redis.connection.parse_url(settings.REDIS_URL).get("db", 0)
                found = _memos[key] = PollMemo(settings.REDIS_URL, f"{prefix}:{db}:trail-changed")
    return found


def clear() -> None:
    """Drop every copy this process keeps (tests: along with the cache)."""
    for found in list(_memos.values()):
        found.entries.clear()
