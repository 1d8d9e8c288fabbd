"""``--listen``: hold the hub's device WebSocket to hear of new revisions at once.

The hub's ``/ws/device/`` sends ``{"type": "revision", "rev": N}`` when a
revision is posted (and the newest one on connect). Hearing one wakes the poll
loop early; polling goes on all the same, so a lost socket only costs latency.
"""

from __future__ import annotations

import asyncio
import json
import random
from typing import TYPE_CHECKING

from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException

if TYPE_CHECKING:
    from trail.agent.device import SimDevice


def socket_url(hub_url: str) -> str:
    """``http://host:port[/prefix]`` -> ``ws://host:port[/prefix]/ws/device/``."""
    scheme, rest = hub_url.split("://", 1)
    return f"{'wss' if scheme == 'https' else 'ws'}://{rest}/ws/device/"


async def listen(device: SimDevice, wake: asyncio.Event) -> None:
    """Set ``wake`` on every revision the hub announces; reconnect with backoff."""
    delay = 1.0
    while True:
        headers = {"Authorization": f"Bearer {device.hub.token}"}
        try:
            async with connect(
                socket_url(device.hub.url), additional_headers=headers, compression=None
            ) as socket:
                delay = 1.0
                async for message in socket:
                    try:
                        event = json.loads(message)
                    except ValueError:
                        continue
                    if isinstance(event, dict) and event.get("type") == "revision":
                        wake.set()
        except (TimeoutError, OSError, WebSocketException) as exc:
            device.say(f"listening: {exc or type(exc).__name__}; polling meanwhile")
        # The token may have been renewed meanwhile: the next connect uses the new one.
        await asyncio.sleep(random.uniform(delay / 2, delay))
        delay = min(60.0, delay * 2)
