"""Live events reach their groups after commit, from the other apps' hooks."""

import asyncio

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from live import events

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


def test_a_commits_messages_go_in_one_trip_to_the_layer(
    owner, device, add_step, monkeypatch, django_capture_on_commit_callbacks
):
    trips = []
    real = events._trip

    def counting(messages):
        trips.append(messages)
        return real(messages)

    page, dashboard, agent = (
        listen(events.device_group(device.id)),
        listen(events.user_group(owner.pk)),
        listen(events.agent_group(device.id)),
    )
    monkeypatch.setattr(events, "_trip", counting)
    with django_capture_on_commit_callbacks(execute=True):
        events.revision_posted(add_step(device, author=owner))
    assert len(trips) == 1
    assert [receive(channel)["type"] for channel in (page, dashboard, agent)] == ["revision"] * 3


def test_a_group_that_cannot_be_sent_to_spares_the_others(
    owner, device, add_step, monkeypatch, django_capture_on_commit_callbacks
):
    layer = get_channel_layer()
    dashboard, agent = listen(events.user_group(owner.pk)), listen(events.agent_group(device.id))
    real = layer.group_send

    async def broken_for_the_page(group, message):
        if group == events.device_group(device.id):
            raise ConnectionError("the layer is down")
        await real(group, message)

    monkeypatch.setattr(layer, "group_send", broken_for_the_page)
    with django_capture_on_commit_callbacks(execute=True):
        events.revision_posted(add_step(device, author=owner))  # raises nothing
    assert receive(dashboard)["type"] == "revision"
    assert receive(agent) == {"type": "revision", "rev": 0}


def test_presence_of_many_devices_is_one_trip(
    owner, make_device, monkeypatch, django_capture_on_commit_callbacks
):
    devices = [make_device(owner, nick=f"d{n}") for n in range(3)]
    pages = [listen(events.device_group(device.id)) for device in devices]
    trips = []
    real = events._trip
    monkeypatch.setattr(events, "_trip", lambda messages: trips.append(messages) or real(messages))
    with django_capture_on_commit_callbacks(execute=True):
        events.presence(*devices)
    assert len(trips) == 1
    assert [receive(page)["device"] for page in pages] == [device.id for device in devices]


def test_synchronous_code_sends_on_one_loop_of_its_own(
    owner, device, add_step, monkeypatch, django_capture_on_commit_callbacks
):
    """A WSGI worker (no event loop) sends every commit's events on one loop that keeps
    running, so the layer keeps its Redis connections: not a new loop per commit."""
    layer = get_channel_layer()
    loops = []
    real = layer.group_send_many

    async def recording(messages):
        loops.append(asyncio.get_running_loop())
        await real(messages)

    monkeypatch.setattr(layer, "group_send_many", recording)
    page = listen(events.device_group(device.id))
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            events.revision_posted(add_step(device, author=owner))
    assert len(loops) == 2 and loops[0] is loops[1] and loops[0].is_running()
    assert [event["type"] for event in drain(page)] == ["revision", "revision"]
