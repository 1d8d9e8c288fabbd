"""The WebSockets, through the whole ASGI stack (origin check, session or token auth, routing)."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connections
from django.test import Client

from live import consumers, events
from portal.auth import issue_token
from trailhub.asgi import application

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

ORIGIN = (b"origin", b"http://testserver")


def session_headers(user) -> list[tuple[bytes, bytes]]:
    client = Client()
    client.force_login(user)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    return [ORIGIN, (b"cookie", cookie)]


@pytest.fixture(autouse=True)
async def _close_connections():
    # Consumers query from a worker thread whose connection outlives the test
    # (CONN_MAX_AGE); close it so the test database can be dropped.
    yield
    await database_sync_to_async(connections.close_all)()


async def connect(path: str, headers=None) -> tuple[WebsocketCommunicator, bool, int | None]:
    communicator = WebsocketCommunicator(application, path, headers=headers or [ORIGIN])
    connected, code = await communicator.connect(timeout=5)
    return communicator, connected, code


async def as_(user) -> list:
    return await database_sync_to_async(session_headers)(user)


async def test_it_refuses_a_private_device_socket_to_an_outsider(owner, outsider, device):
    for headers in (None, await as_(outsider)):
        communicator, connected, code = await connect(f"/ws/devices/{device.id}/", headers)
        assert not connected and code == consumers.NOT_FOUND
    communicator, connected, _ = await connect(f"/ws/devices/{device.id}/", await as_(owner))
    assert connected
    await communicator.disconnect()


async def test_it_refuses_a_browser_socket_from_another_site(owner, public_device):
    headers = [(b"origin", b"http://evil.example")]
    communicator, connected, _ = await connect(f"/ws/devices/{public_device.id}/", headers)
    assert not connected


async def test_a_new_revision_reaches_the_device_page_and_the_dashboard(
    owner, public_device, add_step
):
    page, connected, _ = await connect(f"/ws/devices/{public_device.id}/")  # anonymous, public
    assert connected
    dashboard, connected, _ = await connect("/ws/dashboard/", await as_(owner))
    assert connected

    step = await database_sync_to_async(add_step)(public_device, author=owner, msg="<b>new</b>")
    await database_sync_to_async(events.revision_posted)(step)

    for communicator in (page, dashboard):
        event = await communicator.receive_json_from(timeout=5)
        assert event["type"] == "revision"
        assert (event["device"], event["rev"], event["status"]) == (public_device.id, 0, "DONE")
        assert event["commit_msg"] == "<b>new</b>"  # raw: the page sets it as text
        assert event["author"] == "alice"
        assert event["url"] == "/u/alice/kiosk/revisions/0/"
        await communicator.disconnect()


async def test_progress_reaches_watchers(owner, public_device, add_step):
    page, _, _ = await connect(f"/ws/devices/{public_device.id}/")
    step = await database_sync_to_async(add_step)(public_device, status="DOWNLOADING")
    step.progress = 40
    await database_sync_to_async(events.progress_changed)(step)
    event = await page.receive_json_from(timeout=5)
    assert (event["type"], event["rev"], event["status"], event["progress"]) == (
        "progress",
        0,
        "DOWNLOADING",
        40,
    )
    assert event["running"] is False
    await page.disconnect()


async def test_forwarding_an_event_does_not_wait_for_the_sync_thread(
    owner, public_device, add_step, monkeypatch
):
    # Channels closes old database connections on its one sync thread before each
    # handler; forwarding uses no database, and a thousand watchers queued there.
    page, _, _ = await connect(f"/ws/devices/{public_device.id}/")
    hops = []

    async def recorded():
        hops.append("close_old_connections")

    monkeypatch.setattr("channels.consumer.aclose_old_connections", recorded)
    step = await database_sync_to_async(add_step)(public_device, status="DOWNLOADING")
    await database_sync_to_async(events.progress_changed)(step)
    assert (await page.receive_json_from(timeout=5))["type"] == "progress"
    assert hops == []
    await page.disconnect()


async def test_log_lines_go_to_the_owner_only(owner, outsider, public_device):
    from devices.models import DeviceLog

    owner_page, _, _ = await connect(f"/ws/devices/{public_device.id}/", await as_(owner))
    outsider_page, _, _ = await connect(f"/ws/devices/{public_device.id}/", await as_(outsider))
    line = DeviceLog(device=public_device, tsec=0, lvl="INFO", src="pv", msg="secret log")
    line.time = DeviceLog.time_of(0, 0)
    await database_sync_to_async(events.log_lines)(public_device, [line])
    event = await owner_page.receive_json_from(timeout=5)
    assert event["type"] == "log" and event["lines"][0]["msg"] == "secret log"
    assert await outsider_page.receive_nothing(timeout=0.2)
    await owner_page.disconnect()
    await outsider_page.disconnect()


async def test_an_outsider_is_cut_off_when_the_device_goes_private(
    owner, outsider, public_device, add_step
):
    watcher, connected, _ = await connect(f"/ws/devices/{public_device.id}/", await as_(outsider))
    assert connected
    owner_page, _, _ = await connect(f"/ws/devices/{public_device.id}/", await as_(owner))
    public_device.public = False
    await database_sync_to_async(public_device.save)()
    step = await database_sync_to_async(add_step)(public_device)
    await database_sync_to_async(events.revision_posted)(step)
    assert (await owner_page.receive_json_from(timeout=5))["rev"] == 0
    assert (await watcher.receive_output(timeout=5))["type"] == "websocket.close"
    await owner_page.disconnect()


async def test_the_dashboard_socket_needs_a_person(device):
    communicator, connected, code = await connect("/ws/dashboard/")
    assert not connected and code == consumers.UNAUTHORISED
    token = await database_sync_to_async(issue_token)(device)
    headers = [(b"authorization", f"Bearer {token}".encode())]
    communicator, connected, code = await connect("/ws/dashboard/", headers)
    assert not connected and code == consumers.UNAUTHORISED


async def test_a_device_socket_hears_of_new_revisions(owner, device, add_step):
    await database_sync_to_async(add_step)(device)  # rev 0, before it connects
    token = await database_sync_to_async(issue_token)(device)
    # No Origin header: devices are not browsers, and their token is the credential.
    agent, connected, _ = await connect(
        "/ws/device/", [(b"authorization", f"Bearer {token}".encode())]
    )
    assert connected
    assert await agent.receive_json_from(timeout=5) == {"type": "revision", "rev": 0}
    step = await database_sync_to_async(add_step)(device, author=owner)
    await database_sync_to_async(events.revision_posted)(step)
    assert await agent.receive_json_from(timeout=5) == {"type": "revision", "rev": 1}
    await agent.disconnect()


async def test_the_device_socket_refuses_people_and_strangers(owner):
    communicator, connected, code = await connect("/ws/device/", await as_(owner))
    assert not connected and code == consumers.UNAUTHORISED
    headers = [(b"authorization", b"Bearer not-a-token")]
    communicator, connected, code = await connect("/ws/device/", headers)
    assert not connected and code == consumers.UNAUTHORISED
