"""One simulated device: register, be claimed, post the factory state, poll, update.

Every step talks to the hub through :meth:`SimDevice.persist`, which retries
with backoff (doubling up to a cap) for as long as the hub is away, so a hub
restart is a pause, never a crash. Polling is one request per interval and
nothing else; device-meta and user-meta are exchanged only every
``meta_interval`` seconds and when the running revision changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx

from trail import __version__, api
from trail.agent import update, wire
from trail.agent.factory import Factory
from trail.agent.home import Home
from trail.agent.listen import listen
from trail.client import Hub, HubError, Retry
from trail.lan import Announcer, LanError
from trail.objects import Job, transfer_all, upload
from trail.state import object_shas

T = TypeVar("T")

START = time.monotonic()


class SimDevice:
    """A device that behaves like Pantavisor towards a hub."""

    def __init__(
        self,
        home: Home,
        hub_url: str,
        http: httpx.AsyncClient,
        factory: Callable[[], Factory],
        *,
        auto_token: str | None = None,
        poll_interval: float = 5.0,
        fail_share: float = 0.0,
        meta_interval: float = 60.0,
        label: str = "",
        quiet: bool = False,
        gate: asyncio.Semaphore | None = None,
        listen: bool = False,
        lan: Announcer | None = None,
    ) -> None:
        self.home = home
        self.factory = factory
        self.auto_token = auto_token
        self.poll_interval = poll_interval
        self.fail_share = fail_share
        self.meta_interval = meta_interval
        self.label = label
        self.quiet = quiet
        self.listening = listen
        self.lan = lan
        self._listener: asyncio.Task | None = None
        self._last_poll = api.LastPoll()
        # Few quick retries here: the loops below keep trying for as long as it takes.
        self.hub = Hub(
            hub_url,
            http=http,
            credentials=self._credentials,
            retry=Retry(2, 0.2, 1.0),
            gate=gate,
        )
        self.id = ""
        self.prn = ""
        self._meta_due = 0.0

    # --- output -----------------------------------------------------------------

    def say(self, message: str, always: bool = False) -> None:
        if always or not self.quiet:
            print(f"{self.label}{message}", flush=True)

    async def log(self, message: str, rev: int | None = None, level: str = "INFO") -> None:
        """Send a line to the hub's device logs; a lost line is not worth a retry."""
        entry = {"src": "trail-agent", "lvl": level, "msg": message}
        if rev is not None:
            entry["rev"] = str(rev)
        with contextlib.suppress(HubError):
            await self.hub.request("POST", "/logs/", json=[entry], retry=Retry(1))

    # --- resilience -----------------------------------------------------------------

    async def persist(self, what: str, action: Callable[[], Awaitable[T]]) -> T:
        """Run ``action`` until it succeeds, waiting longer after each failure."""
        delay = min(1.0, self.poll_interval)
        cap = max(5.0, min(60.0, 10 * self.poll_interval))
        while True:
            try:
                return await action()
            except HubError as exc:
                wait = random.uniform(delay / 2, delay)
                self.say(f"{what}: {exc}; retrying in {wait:.1f}s", always=exc.status is None)
                await asyncio.sleep(wait)
                delay = min(cap, delay * 2)

    async def _credentials(self, aeps: str) -> tuple[str, str]:
        return self.prn, self.home.secret or ""

    # --- life -------------------------------------------------------------------------

    async def run(self) -> None:
        await self.persist("registering", self.register)
        await self.persist("logging in", self.hub.login)
        owner = await self.persist("waiting to be claimed", self.wait_for_claim)
        self.say(f"owned by {owner}")
        await self.persist("posting the factory state", self.post_factory)
        await self.poll()

    async def register(self) -> None:
        identity = self.home.identity
        if identity and self.home.secret:
            self.id, self.prn = identity["id"], identity["prn"]
            return
        secret = secrets.token_urlsafe(24)
        device = await api.register_device(self.hub, secret, self.auto_token)
        self.home.save_identity(device, secret)
        self.id, self.prn = device["id"], device["prn"]
        if device.get("challenge"):
            self.say(
                f"registered device {self.id}; claim it with: "
                f"trail claim -c {device['challenge']} {self.id}",
                always=True,
            )
        else:
            self.say(f"registered device {self.id} with a factory token", always=True)

    async def wait_for_claim(self) -> str:
        announced = False
        while True:
            device = await api.get_device(self.hub, self.id)
            await self.announce(claimed=bool(device.get("owner")))
            if device.get("owner"):
                return device.get("owner-nick") or device["owner"]
            if not announced:
                self.say("waiting to be claimed")
                announced = True
            await asyncio.sleep(self.poll_interval)

    async def announce(self, claimed: bool) -> None:
        """With ``--mdns``: publish the device on the LAN as pv-avahi does, its
        challenge while it is not claimed (``trail device scan`` lists it). mDNS
        trouble is said, never fatal: the hub is what the device lives for."""
        if self.lan is None:
            return
        challenge = "" if claimed else (self.home.identity or {}).get("challenge", "")
        try:
            if await self.lan.publish(self.id, self.hub.url, challenge):
                state = "claimed" if claimed else "unclaimed"
                self.say(f"published on the LAN over mDNS ({state})")
        except LanError as exc:
            self.say(f"not published on the LAN: {exc}", always=True)

    async def post_factory(self) -> None:
        """Post revision 0 (once) and run it."""
        if self.home.current is not None:
            return
        factory = self.factory()
        factory.stock(self.home.store)
        state = factory.state
        try:
            await api.get_trail(self.hub, self.id)
        except HubError as exc:
            if exc.status != 404:
                raise
            await self._upload(state)
            await api.post_factory_state(self.hub, state)
            self.say(f"posted the factory state ({len(state) - 1} files) as rev 0")
        else:  # posted before a restart
            state = (await api.get_step(self.hub, self.id, 0))["state"]
            await update.fetch(self, state)
        self.home.install(0, state)
        self.home.set_current(0)
        self.home.save_progress(running=0)
        await self.log("rev 0: running the factory state", rev=0)
        await self.push_meta()

    async def _upload(self, state: dict[str, Any]) -> None:
        jobs = [Job(sha, keys[0]) for sha, keys in object_shas(state).items()]

        def as_pantavisor(url: str) -> str:
            return wire.upload_url(self.hub.url, url)

        await transfer_all(
            jobs, lambda job: upload(self.hub, self.home.store, job, put_url=as_pantavisor), 4
        )

    async def poll(self) -> None:
        """Ask for pending revisions every ``poll_interval`` (sooner when the
        device's WebSocket says a revision was posted); take the oldest."""
        wake = asyncio.Event()
        if self.listening:
            self._listener = asyncio.create_task(listen(self, wake))
        # Spread the first polls of many devices over one interval.
        await self._sleep(wake, random.uniform(0, self.poll_interval))
        while True:
            wake.clear()
            # A failure anywhere starts over from a fresh poll, so an update
            # always resumes from what the hub says now.
            await self.persist("talking to the hub", self.poll_once)
            await self._sleep(wake, self.poll_interval)

    @staticmethod
    async def _sleep(wake: asyncio.Event, seconds: float) -> None:
        """Sleep ``seconds``, or less if ``wake`` is set."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), seconds)

    async def poll_once(self) -> None:
        steps = await api.pending_steps(self.hub, self.id, self._last_poll)
        if steps:
            await update.apply(self, min(steps, key=lambda s: s["rev"]))
        if time.monotonic() >= self._meta_due:
            await self.exchange_meta()

    # --- metadata ----------------------------------------------------------------------

    async def push_meta(self) -> None:
        await api.patch_device_meta(
            self.hub,
            self.id,
            {
                "trail-agent.version": __version__,
                "trail-agent.revision": str(self.home.current),
                "trail-agent.uptime": str(int(time.monotonic() - START)),
            },
        )

    async def exchange_meta(self) -> None:
        """Push device-meta and read the owner's user-meta; renew the token in time.

        A renewal (``GET /auth/login``) is cheap for the hub; a new login checks
        the secret's hash, which is slow on purpose.
        """
        await self.hub.refresh_if_expiring(within=max(600.0, 3 * self.meta_interval))
        await self.push_meta()
        device = await api.get_device(self.hub, self.id)
        meta = device.get("user-meta") or {}
        if self.home.save_user_meta(meta) and meta:
            self.say(f"user-meta: {device.get('user-meta')}")
        self._meta_due = time.monotonic() + self.meta_interval
