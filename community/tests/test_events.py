"""Live events reach their groups after commit, from the other apps' hooks."""

import asyncio

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from community import events

pytestmark = pytest.mark.django_db


def listen(group: str) -> str:
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(group, channel)
    return channel


def receive(channel: str) -> dict:
    return async_to_sync(get_channel_layer().receive)(channel)["event"]


def drain(channel: str) -> list[dict]:
    """Every event waiting on ``channel`` (any channel layer)."""

    async def read() -> list[dict]:
        found = []
        while True:
            try:
                message = await asyncio.wait_for(get_channel_layer().receive(channel), 0.3)
            except TimeoutError:
                return found
            found.append(message["event"])

    return async_to_sync(read)()


def test_posted_log_lines_reach_the_owners_pages_only(
    api, device, django_capture_on_commit_callbacks
):
    owner_pages = listen(events.owner_group(device.id))
    everyone = listen(events.device_group(device.id))
    with django_capture_on_commit_callbacks(execute=True):
        response = api.as_(device).post(
            "/logs/", [{"msg": "booted <ok>", "lvl": "INFO", "src": "pv"}], format="json"
        )
    assert response.status_code == 200
    event = receive(owner_pages)
    assert event["type"] == "log" and event["lines"][0]["msg"] == "booted <ok>"
    # Anyone watching the device hears that it is online, but never its logs.
    assert "log" not in [event["type"] for event in drain(everyone)]


def test_a_device_seen_again_is_announced_as_present(
    api, device, django_capture_on_commit_callbacks
):
    dashboard = listen(events.user_group(device.owner_id))
    with django_capture_on_commit_callbacks(execute=True):
        assert api.as_(device).get(f"/devices/{device.id}").status_code == 200
    event = receive(dashboard)
    assert event["type"] == "presence" and event["device"] == device.id
    assert event["last_seen"]
