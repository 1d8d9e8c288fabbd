"""Live events: the one place that tells browsers and devices what happened.

Every function here queues its messages with ``transaction.on_commit``, so a
browser never hears of a row it could not read yet, and a rolled-back change
is never announced. Messages go to Channels groups (live/consumers.py
forwards them as JSON):

``device.<id>``        everyone watching a device page (anyone who may see it)
``device.<id>.owner``  the owner's pages only: log lines are private
``user.<id>``          the owner's dashboard
``agent.<id>``         the device itself, on ``/ws/device/``

Each message carries the device's ``public`` flag as it is now, so that a
watcher who may no longer see the device is cut off instead of served.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from typing import Any

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from community.templatetags.community import status_class, status_word
from devices.models import Device
from trail import status as st

log = logging.getLogger(__name__)

FORWARD = "event.forward"  # the consumers' handler: ``event_forward``
#: Seconds a synchronous caller waits for its events to be handed to the layer.
SEND_TIMEOUT = 10.0

_loop: asyncio.AbstractEventLoop | None = None
_loop_pid = 0
_loop_lock = threading.Lock()


def _process_loop() -> asyncio.AbstractEventLoop:
    """This process's own event loop for live events, running in a daemon thread; a
    forked child (gunicorn, Celery) starts its own."""
    global _loop, _loop_pid
    with _loop_lock:
        if _loop is None or _loop_pid != os.getpid():
            _loop, _loop_pid = asyncio.new_event_loop(), os.getpid()
            threading.Thread(target=_loop.run_forever, name="live-events", daemon=True).start()
        return _loop


def _trip(messages: list[tuple[str, dict]]) -> None:
    """Hand ``messages`` to the channel layer from synchronous code.

    Under ASGI, a view runs in a thread of the server's event loop and goes back
    to that loop (``async_to_sync``). A WSGI worker or a Celery task has no loop:
    ``async_to_sync`` would make a new one for every call, and with it a new
    Redis connection pool (channels_redis keeps one per loop) and connection —
    13% of a gunicorn worker's CPU in a fleet rollout (docs/benchmarks.md,
    bench/rollout.py). Those go to the process's own loop instead, which keeps
    its connections.
    """
    layer = get_channel_layer()
    outer = getattr(SyncToAsync.threadlocal, "main_event_loop", None)
    if outer is not None and getattr(SyncToAsync.threadlocal, "main_event_loop_pid", 0) == (
        os.getpid()
    ):
        async_to_sync(layer.group_send_many)(messages)
        return
    future = asyncio.run_coroutine_threadsafe(layer.group_send_many(messages), _process_loop())
    try:
        future.result(SEND_TIMEOUT)
    except TimeoutError:
        future.cancel()
        raise


def device_group(device_id: str) -> str:
    return f"device.{device_id}"


def owner_group(device_id: str) -> str:
    return f"device.{device_id}.owner"


def user_group(user_id: str) -> str:
    return f"user.{user_id}"


def agent_group(device_id: str) -> str:
    return f"agent.{device_id}"


def _iso(when) -> str | None:
    return when.isoformat() if when else None


def _send_now(messages: list[tuple[str, dict]]) -> None:
    """Send a commit's messages in one trip to the event loop.

    Each trip is a hop between threads (:func:`_trip`): one per commit, not one
    per message.
    """
    if get_channel_layer() is None or not messages:
        return
    try:
        _trip(messages)
    except Exception:
        # A live update is a nicety: a broken layer must not fail the request
        # whose transaction already committed.
        log.exception("could not send %d live events", len(messages))


def _send_after_commit(messages: list[tuple[str, dict]]) -> None:
    if messages:
        transaction.on_commit(lambda: _send_now(messages))


def _fanout(device: Device, event: dict[str, Any], *, private: bool = False) -> list:
    """The messages that tell ``event`` to the device's watchers (or only its owner's
    pages) and dashboard."""
    event = {**event, "device": device.id}
    message = {"type": FORWARD, "event": event, "public": device.public}
    groups = [owner_group(device.id)] if private else [device_group(device.id)]
    if device.owner_id and not private:
        groups.append(user_group(device.owner_id))
    return [(group, message) for group in groups]


def _device(device_id: str) -> Device | None:
    return Device.objects.select_related("owner").filter(id=device_id).first()


def revision_posted(step) -> None:
    """A new revision: its row on the pages, and a nudge to the device itself."""
    device = _device(step.trail_id)
    if device is None or device.owner_id is None:
        return
    author = step.author.username if step.author_id else None
    url = reverse("community:revision", args=[device.owner.username, device.nick, step.rev])
    nudge = {"type": FORWARD, "event": {"type": "revision", "rev": step.rev}}
    page = {
        "type": "revision",
        "rev": step.rev,
        "status": step.status,
        "status_word": status_word(step.status, device.has_hardware),
        "status_class": status_class(step.status, device.has_hardware),
        "progress": step.progress,
        "commit_msg": step.commit_msg,
        "author": author,
        "time": _iso(step.time_created),
        "url": url,
    }
    _send_after_commit([*_fanout(device, page), (agent_group(device.id), nudge)])


def progress_changed(step) -> None:
    """A revision's status or progress moved. A device that reports is online, too."""
    device = _device(step.trail_id)
    if device is None or device.owner_id is None:
        return
    event = {
        "type": "progress",
        "rev": step.rev,
        "status": step.status,
        "status_word": status_word(step.status, device.has_hardware),
        "status_class": status_class(step.status, device.has_hardware),
        "progress": step.progress,
        "status_msg": step.status_msg,
        "running": step.status in st.RUNNING_OK,
        "last_seen": _iso(device.last_seen),
    }
    _send_after_commit(_fanout(device, event))


def presence(*devices: Device) -> None:
    """The devices were just seen (``last_seen`` moved): one trip for all of them."""
    messages = []
    for device in devices:
        if device.owner_id is not None:
            when = _iso(device.last_seen or timezone.now())
            messages += _fanout(device, {"type": "presence", "last_seen": when})
    _send_after_commit(messages)


def log_lines(device: Device, lines: list) -> None:
    """New log lines, for the owner's log page only (logs are private, even on public devices)."""
    if device.owner_id is None or not lines:
        return
    rows = [
        {
            "time": _iso(line.time),
            "lvl": line.lvl,
            "src": line.src,
            "plat": line.plat,
            "msg": line.msg,
        }
        for line in lines
    ]
    _send_after_commit(_fanout(device, {"type": "log", "lines": rows}, private=True))
