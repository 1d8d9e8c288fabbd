"""Taking one revision from the hub to the device: the Pantavisor update, simulated.

QUEUED → DOWNLOADING (objects into the store, verified, with byte progress) →
INPROGRESS (installed into ``trails/<rev>/``) → TESTING (the try-boot) →
DONE, or UPDATED when the revision asks for no reboot. The statuses go on the
wire as Pantavisor sends them (pantavisor update/update.c):

* QUEUED "Retried n of N" every time an update (re)starts, a resumed one
  too (update.c:245-247), with ``retries`` counting the starts; past
  :data:`REVISION_RETRIES` starts the revision is WONTGO (update.c:255-261).
* ERROR from DOWNLOADING when an object arrives with the wrong sha256 (as
  the mocker does, pantavisor-mocker src/flows/update_flow.zig:312-315);
  WONTGO when downloads keep failing otherwise ("max download retries").
* A try-boot that fails is ERROR, and the device stays on its last good
  revision; a state it cannot take is WONTGO, as is one that breaks the
  signing rule of a device that requires signatures (:func:`signature_refusal`).
* DONE, then ERROR when the bootloader cannot commit the revision
  (update.c:888-893): ``trail-agent/health.json`` ``{"commit": "fail"}``
  simulates it, and the device goes back to its last good revision.

Each phase is recorded in ``agent-state.json`` before the next begins, and
every phase is safe to run again, so a restart at any point resumes the
update; a decided outcome is sent again from there, as Pantavisor re-sends
its final progress from disk (update.c:233-237).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from typing import TYPE_CHECKING, Any

from trail import api
from trail.agent import wire
from trail.client import HubError
from trail.errors import ChecksumError, ObjectError
from trail.objects import SILENT, Job, Meter, download, transfer_all
from trail.signatures import KeyFileError
from trail.signatures.rule import check_required, trust_from_pems
from trail.state import StateError, object_shas, validate_state
from trail.status import (
    DONE,
    DOWNLOADING,
    ERROR,
    FINAL,
    INPROGRESS,
    QUEUED,
    TESTING,
    UPDATED,
    WONTGO,
    TransitionError,
    check_transition,
)
from trail.tree import check_layout

if TYPE_CHECKING:
    from trail.agent.device import SimDevice

HEALTH_KEY = "trail-agent/health.json"
DOWNLOAD_TRIES = 3
REVISION_RETRIES = 10  # Pantavisor's default PV_REVISION_RETRIES
CONCURRENCY = 4
REPORT_EVERY = 1.0  # seconds between two DOWNLOADING reports


class Abandon(Exception):
    """The hub finalised the revision (the owner cancelled it): stop working on it."""


def health_of(state: dict[str, Any]) -> dict[str, Any]:
    value = state.get(HEALTH_KEY)
    return value if isinstance(value, dict) else {}


def drawn_to_fail(device_id: str, rev: int, share: float) -> bool:
    """Whether ``--fail-share`` picks this revision to fail: a fixed draw per
    device and revision, so a restarted agent draws the same."""
    if share <= 0 or rev == 0:
        return False
    draw = int(hashlib.sha256(f"{device_id}:{rev}".encode()).hexdigest()[:8], 16) / 2**32
    return draw < share


class Reporter:
    """Sends a revision's progress as Pantavisor does, within the status machine."""

    def __init__(self, device: SimDevice, rev: int, status: str, retries: int = 0) -> None:
        self.device = device
        self.rev = rev
        self.status = status
        self.retries = retries

    async def send(
        self, status: str, progress: int = 0, msg: str = "", downloads: dict | None = None
    ) -> None:
        try:
            check_transition(self.status, status, "device")
        except TransitionError:
            if self.status in FINAL:
                raise Abandon(f"rev {self.rev} is {self.status} on the hub") from None
            raise
        body: dict[str, Any] = {
            "status": status,
            "progress": progress,
            "status-msg": msg,
            "retries": self.retries,
        }
        if downloads is not None:
            body["downloads"] = downloads
        try:
            await api.put_progress(self.device.hub, self.device.id, self.rev, body)
        except HubError as exc:
            if exc.status != 409:
                raise
            # The hub's status moved on without us (the owner gave up on the
            # revision): learn it and go on from there.
            step = await api.get_step(self.device.hub, self.device.id, self.rev)
            self.status = api.step_status(step)
            if self.status in FINAL and self.status != status:
                raise Abandon(f"rev {self.rev} is {self.status} on the hub") from None
            return
        if status != self.status:
            self.device.say(f"rev {self.rev}: {status}{' - ' + msg if msg else ''}")
            await self.device.log(f"rev {self.rev}: {status} {msg}".rstrip(), rev=self.rev)
        self.status = status


class DownloadMeter(Meter):
    """Byte progress of a revision's downloads, reported at most every REPORT_EVERY."""

    def __init__(self, reporter: Reporter, total: int, count: int) -> None:
        self.reporter = reporter
        self.total = total
        self.count = count
        self.done = 0
        self.got: dict[str, int] = {}
        self.names: dict[str, tuple[str, int]] = {}
        self.started = int(time.time())
        self.last = 0.0
        self.pending: asyncio.Task | None = None

    def start(self, sha: str, name: str, size: int) -> None:
        self.names[sha] = (name, size)
        self.got[sha] = 0

    def advance(self, sha: str, nbytes: int) -> None:
        self.got[sha] += nbytes
        now = time.monotonic()
        if now - self.last >= REPORT_EVERY and (self.pending is None or self.pending.done()):
            self.last = now
            self.pending = asyncio.ensure_future(self.report())

    def restart(self, sha: str) -> None:
        self.got[sha] = 0

    def finish(self, sha: str) -> None:
        self.done += 1

    def downloads(self) -> dict[str, Any]:
        now = int(time.time())
        got = sum(self.got.values())
        objects = [
            {
                "object_name": name,
                "object_id": sha,
                "total_size": size,
                "total_downloaded": self.got.get(sha, 0),
                "start_time": self.started,
                "current_time": now,
            }
            for sha, (name, size) in self.names.items()
        ]
        total = {
            "total_size": self.total,
            "total_downloaded": got,
            "start_time": self.started,
            "current_time": now,
        }
        return {"total": total, "objects": objects}

    async def report(self) -> None:
        got = sum(self.got.values())
        percent = min(99, got * 100 // self.total) if self.total else 0
        # A lost progress report is harmless; the next one carries the totals.
        with contextlib.suppress(HubError, Abandon):
            await self.reporter.send(
                DOWNLOADING, percent, f"{self.done}/{self.count} objects", self.downloads()
            )


async def apply(device: SimDevice, step: dict[str, Any]) -> None:
    """Take revision ``step`` as far as it goes; safe to call again after any failure.

    Each phase looks at the disk, not at a label, to know whether it is done
    (the objects are in the store, the tree is installed), so a rerun after a
    crash or a lost connection picks up exactly where the last one stopped.
    Only the outcome of the try-boot is recorded, because it cannot be redone.
    """
    rev = int(step["rev"])
    state = step.get("state")
    home = device.home
    mine = home.progress.get("update") or {}
    if mine.get("rev") != rev:
        mine = {"rev": rev, "phase": "new", "retries": 0}
        home.save_progress(update=mine)
    reporter = Reporter(device, rev, api.step_status(step), mine.get("retries", 0))

    def phase(name: str, **extra: Any) -> None:
        mine.update(phase=name, **extra)
        home.save_progress(update=mine)

    try:
        if mine["phase"] in ("done", "error", "wontgo"):
            # Decided before a restart; only the report may be missing.
            await reporter.send(mine["status"], 100, mine.get("msg", ""))
            return
        try:
            validate_state(state)
            check_layout(state)
        except StateError as exc:
            await _refuse(reporter, phase, f"state refused: {exc}")
            return
        refusal = await signature_refusal(device, state)
        if refusal:
            await _refuse(reporter, phase, refusal)
            return
        reporter.retries = mine["retries"] = mine.get("retries", 0) + 1
        home.save_progress(update=mine)
        await reporter.send(QUEUED, 0, f"Retried {reporter.retries} of {REVISION_RETRIES}")
        if reporter.retries > REVISION_RETRIES:
            await _refuse(reporter, phase, "max update retries reached")
            return
        if home.store.missing(object_shas(state)):
            phase("downloading")
            if not await _download(device, reporter, state, phase):
                return
        await reporter.send(INPROGRESS, 80, "installing")
        if home.installed_state(rev) != state:
            phase("installing")
            home.install(rev, state)
        await reporter.send(TESTING, 90, "trying the new revision")
        await _try_boot(device, reporter, rev, state, phase)
    except Abandon as exc:
        device.say(f"rev {rev}: given up: {exc}")


async def signature_refusal(device: SimDevice, state: dict[str, Any]) -> str | None:
    """Why ``state`` must not be installed on a device that requires signatures, or None.

    The rule and the signers the owner trusts come from the hub's answer to the
    device's own ``GET /devices/<id>`` (``require-signatures``, ``trusted-signers``);
    the check is the hub's at post (trail/signatures/rule.py), made again on the
    state the device received, so a revision changed on the hub after it was
    posted is not installed.
    """
    me = await api.get_device(device.hub, device.id)
    if not me.get("require-signatures"):
        return None
    try:
        trust = trust_from_pems(me.get("trusted-signers") or [])
    except KeyFileError as exc:
        return f"signatures refused: the hub's trusted signers cannot be read: {exc}"
    verdict = check_required(state, trust)
    return None if verdict.met else f"signatures refused: {verdict.reason}"


async def _refuse(reporter: Reporter, phase, msg: str) -> None:
    phase("wontgo", status=WONTGO, msg=msg)
    await reporter.send(WONTGO, 0, msg)


async def fetch(
    device: SimDevice,
    state: dict[str, Any],
    meter: Meter = SILENT,
    located: dict[str, dict] | None = None,
) -> None:
    """Download the objects of ``state`` that the device's store lacks;
    ``located`` holds answers of ``GET /objects/<sha>`` already in hand."""
    store = device.home.store
    needed = object_shas(state)
    jobs = [Job(sha, needed[sha][0]) for sha in store.missing(needed)]
    located = located if located is not None else {}

    async def locate(sha: str) -> dict[str, Any]:
        info = located.pop(sha, None) or await api.object_urls(device.hub, sha)
        if info.get("signed-geturl"):  # fetched path-only, as Pantavisor does
            info = {**info, "signed-geturl": wire.download_url(info["signed-geturl"])}
        return info

    await transfer_all(
        jobs, lambda job: download(device.hub, store, job, locate, meter), CONCURRENCY
    )


async def _download(device: SimDevice, reporter: Reporter, state, phase) -> bool:
    """Fetch the missing objects; False when the revision was refused."""
    store = device.home.store
    missing = store.missing(object_shas(state))
    located = {sha: await api.object_urls(device.hub, sha) for sha in missing}
    total = sum(int(info.get("size") or 0) for info in located.values())
    meter = DownloadMeter(reporter, total, len(missing))
    await reporter.send(
        DOWNLOADING, 0, f"0/{len(missing)} objects, {total} bytes", meter.downloads()
    )
    for attempt in range(1, DOWNLOAD_TRIES + 1):
        try:
            await fetch(device, state, meter, located)
            break
        except ObjectError as exc:
            device.say(f"rev {reporter.rev}: {exc} (try {attempt} of {DOWNLOAD_TRIES})")
            await device.log(str(exc), rev=reporter.rev, level="ERROR")
            if isinstance(exc, ChecksumError):  # wrong bytes: retrying gets the same
                phase("error", status=ERROR, msg=str(exc))
                if meter.pending is not None:
                    await meter.pending  # so that no older report lands after this one
                await reporter.send(ERROR, 0, str(exc))
                return False
            if attempt == DOWNLOAD_TRIES:
                await _refuse(reporter, phase, str(exc))
                return False
            await asyncio.sleep(min(5.0, device.poll_interval * attempt))
    meter.done = meter.count
    if meter.pending is not None:
        await meter.pending  # so that no older report lands after this one
    await reporter.send(
        DOWNLOADING, 100, f"{len(missing)} objects, {total} bytes", meter.downloads()
    )
    return True


async def _try_boot(device: SimDevice, reporter: Reporter, rev: int, state, phase) -> None:
    """Boot the revision on trial: it passes unless its health check fails."""
    home = device.home
    health = health_of(state)
    phase("trying")
    seconds = health.get("seconds")
    if isinstance(seconds, (int, float)) and seconds > 0:
        await asyncio.sleep(min(float(seconds), 3600.0))
    failed = None
    if health.get("fail") is True:
        failed = f"health check failed ({HEALTH_KEY} says fail)"
    elif drawn_to_fail(device.id, rev, device.fail_share):
        failed = f"health check failed (drawn by --fail-share {device.fail_share})"
    if failed:
        previous = home.current
        msg = f"{failed}; rolled back to rev {previous}"
        phase("error", status=ERROR, msg=msg)
        await reporter.send(ERROR, 100, msg)
        return
    final = UPDATED if health.get("reboot") is False else DONE
    if final == DONE and health.get("commit") == "fail":
        # Reported DONE, then the bootloader refuses the commit: back to the last good one.
        msg = f"revision could not be committed to the bootloader; back to rev {home.current}"
        phase("error", status=ERROR, msg=msg)
        await reporter.send(DONE, 100, "Update finished, revision set as rollback point")
        await reporter.send(ERROR, 100, msg)
        return
    home.set_current(rev)
    home.save_progress(running=rev)  # before the report: a restart must not try again
    msg = "running" if final == DONE else "running, applied without reboot"
    phase("done", status=final, msg=msg)
    await reporter.send(final, 100, msg)
    await device.push_meta()
