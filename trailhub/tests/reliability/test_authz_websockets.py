"""The authorisation matrix over every WebSocket route, for every kind of caller.

Each caller connects to each route (a person with the session cookie and an
Origin, as a browser does; a device with its bearer token and no Origin), on
a private and on a public target. Then the target gets a revision, progress,
presence and log lines, each carrying a fresh canary: every socket that was
let in must hear only what its caller may see.
"""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connections
from django.test import Client

from devices.models import Device
from devices.services import post_logs
from live import consumers, events
from portal.auth import issue_token
from revisions import services as revisions
from revisions.models import Trail
from trailhub.asgi import application
from trailhub.routing import websocket_urlpatterns
from trailhub.tests.reliability.conftest import (
    ACTORS,
    CONTENT,
    DEVICES,
    OWNER_ONLY,
    PEOPLE,
    SPEC,
    canary,
)

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = (b"origin", b"http://testserver")
NOT_FOUND, UNAUTHORISED = consumers.NOT_FOUND, consumers.UNAUTHORISED

# route -> (who is let in on a private target, on a public one); others are closed with the code.
SOCKETS = {
    "ws/devices/<str:device_id>/": (("owner", "device"), ACTORS, NOT_FOUND),
    "ws/dashboard/": (PEOPLE, PEOPLE, UNAUTHORISED),
    "^ws/device/?$": (DEVICES, DEVICES, UNAUTHORISED),
}
PATHS = {
    "ws/devices/<str:device_id>/": "/ws/devices/{id}/",
    "ws/dashboard/": "/ws/dashboard/",
    "^ws/device/?$": "/ws/device/",
}


def test_every_socket_has_a_row():
    assert {str(p.pattern) for p in websocket_urlpatterns} == SOCKETS.keys()


@pytest.fixture(autouse=True)
async def _close_connections():
    # Consumers query from worker threads whose connections outlive the test.
    yield
    await database_sync_to_async(connections.close_all)()


def headers_for(world, actor: str) -> list[tuple[bytes, bytes]]:
    subject = world.actors[actor]
    if actor in PEOPLE:
        client = Client()
        client.force_login(subject)
        return [ORIGIN, (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())]
    if subject is not None:
        return [(b"authorization", f"Bearer {issue_token(subject)}".encode())]
    return [ORIGIN]


def happen(world) -> list[str]:
    """A revision, its progress, presence and log lines on the target, each with a canary."""
    msg, log, status_msg = canary("livemsg"), canary("livelog"), canary("livestatus")
    world.canaries |= {msg: ("livemsg", CONTENT), status_msg: ("livestatus", CONTENT)}
    world.canaries[log] = ("livelog", OWNER_ONLY)
    target = Device.objects.select_related("owner").get(pk=world.target.pk)
    trail = Trail.objects.select_related("device__owner").get(pk=target.pk)
    step = revisions.post_step(trail, {"#spec": SPEC}, commit_msg=msg, author=target.owner)
    revisions.report_progress(step, "QUEUED", status_msg=status_msg)
    events.presence(target)
    post_logs(target, [{"msg": log, "lvl": "INFO"}])
    return [msg, status_msg, log]


async def heard(communicator) -> str:
    """Everything the socket hears until it has been quiet for a moment."""
    texts = []
    # receive_nothing, unlike a receive_output that times out, leaves the consumer running.
    while not await communicator.receive_nothing(timeout=0.3):
        texts.append(str(await communicator.receive_output()))
    return "\n".join(texts)


@pytest.mark.parametrize("visibility", ["private", "public"])
async def test_each_socket_lets_in_and_tells_only_whom_it_should(world, visibility):
    if visibility == "public":
        await database_sync_to_async(
            lambda: Device.objects.filter(pk=world.target.pk).update(public=True)
        )()
        world.target.public = True
    problems, open_sockets = [], []
    for route, (private, public, refusal) in SOCKETS.items():
        allowed = public if visibility == "public" else private
        path = PATHS[route].format(id=world.target.id)
        for actor in ACTORS:
            headers = await database_sync_to_async(headers_for)(world, actor)
            communicator = WebsocketCommunicator(application, path, headers=headers)
            connected, code = await communicator.connect(timeout=5)
            if connected != (actor in allowed):
                problems.append(f"{path} as {actor}: connected={connected} ({code})")
            if connected:
                open_sockets.append((path, actor, communicator))
            elif code != refusal:
                problems.append(f"{path} as {actor}: closed with {code}, expected {refusal}")
    # What connecting said (the agent's hello, presence) is checked with the rest.
    happened = await database_sync_to_async(happen)(world)
    texts = {}
    for path, actor, communicator in open_sockets:
        texts[path, actor] = text = await heard(communicator)
        leaked = world.leaks(actor, text)
        if leaked:
            problems.append(f"{path} as {actor} heard private data: {', '.join(leaked)}")
        await communicator.disconnect()
    assert not problems, "\n".join(problems)
    # The events did reach those who may hear them.
    page = f"/ws/devices/{world.target.id}/"
    assert all(value in texts[page, "owner"] for value in happened)
    assert happened[0] in texts["/ws/dashboard/", "owner"]
    assert '"rev": 2' in texts["/ws/device/", "device"]
