"""WebSockets: thin consumers that authorise in ``connect``, join groups and forward.

``scope["user"]`` comes from portal/ws_auth.py: a person (session cookie or
bearer token), a DevicePrincipal (a device's token) or anonymous. What is
sent comes from live/events.py, never from here.
"""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from devices.models import Device
from live import events
from portal.metrics import WEBSOCKETS
from revisions.models import Step

# Close codes: 4401 not logged in as what the socket needs; 4404 no such device
# for this caller (a private device of someone else is absent, as in the API).
UNAUTHORISED = 4401
NOT_FOUND = 4404


def _is_person(user) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and not getattr(user, "is_device", False)


class _Forwarding(AsyncJsonWebsocketConsumer):
    """Joins ``self.joined`` groups on connect and forwards their events as JSON."""

    joined: list[str]

    async def join(self, *groups: str) -> None:
        self.joined = list(groups)
        for group in self.joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        WEBSOCKETS.labels(type(self).__name__).inc()
        self.counted = True

    async def disconnect(self, code) -> None:
        if getattr(self, "counted", False):
            WEBSOCKETS.labels(type(self).__name__).dec()
        for group in getattr(self, "joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content, **kwargs) -> None:
        """Clients only listen; whatever they send is ignored."""

    async def dispatch(self, message: dict) -> None:
        """Forward events straight away; anything else goes through Channels as usual.

        Channels (4.2+) runs ``close_old_connections`` on its one sync thread before
        every handler, in case the handler uses the ORM. ``event_forward`` never
        does; with a thousand sockets watching a device those hops, one per socket
        and event, queued behind each other on that thread and held back the first
        frame by 50 to 250 ms (docs/benchmarks.md, section 5).
        """
        if message["type"] == events.FORWARD:
            await self.event_forward(message)
        else:
            await super().dispatch(message)

    async def event_forward(self, message: dict) -> None:
        await self.send_json(message["event"])


class DeviceConsumer(_Forwarding):
    """``/ws/devices/<id>/``: a device page's live updates, for whoever may see the device."""

    async def connect(self) -> None:
        device_id = self.scope["url_route"]["kwargs"]["device_id"]
        device = await self._visible(device_id)
        if device is None:
            await self.close(code=NOT_FOUND)
            return
        self.device_id = device.id
        self.is_owner = device.is_owned_by(self.scope.get("user"))
        groups = [events.device_group(device.id)]
        if self.is_owner:
            groups.append(events.owner_group(device.id))
        await self.join(*groups)

    @database_sync_to_async
    def _visible(self, device_id: str) -> Device | None:
        user = self.scope.get("user")
        return Device.objects.visible_to(user).filter(id=device_id).first()

    async def event_forward(self, message: dict) -> None:
        if not message.get("public", True) and not self.is_owner:
            # The device went private while this outsider watched: stop here.
            await self.close(code=NOT_FOUND)
            return
        await super().event_forward(message)


class DashboardConsumer(_Forwarding):
    """``/ws/dashboard/``: live updates of all of a person's devices."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        if not _is_person(user):
            await self.close(code=UNAUTHORISED)
            return
        await self.join(events.user_group(user.pk))


class AgentConsumer(_Forwarding):
    """``/ws/device/``: a device hears ``{"type": "revision", "rev": N}`` when a revision is posted.

    On connect it is told its newest revision at once, so that nothing posted
    while it was away is missed; pages see the device come online.
    """

    async def connect(self) -> None:
        user = self.scope.get("user")
        if not getattr(user, "is_device", False):
            await self.close(code=UNAUTHORISED)
            return
        device = user.device
        await self.join(events.agent_group(device.id))
        rev = await self._hello(device)
        if rev is not None:
            await self.send_json({"type": "revision", "rev": rev})

    @database_sync_to_async
    def _hello(self, device: Device) -> int | None:
        events.presence(device)
        return (
            Step.objects.filter(trail_id=device.id)
            .order_by("-rev")
            .values_list("rev", flat=True)
            .first()
        )
