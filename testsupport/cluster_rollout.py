"""A pack rollout through a :class:`~testsupport.cluster.Cluster` with a fault in the middle.

Shared by the cluster tests (trailhub/tests/reliability/test_cluster.py, a reduced
fleet) and ``bench/cluster.py`` (the full size): ``trail-agent`` processes run the
devices through nginx (``--listen``: each holds the device WebSocket); a pack of one
leader and all the others follows the leader's new revision wave after wave; when some
followers are DONE and others not, ``fault`` strikes (a node killed, Redis restarted).
:class:`Outcome` holds what the checks need: the database's rows, the members, the
objects of the states, the page loop's failures and the WebSockets per node.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from testsupport.cluster import Cluster
from testsupport.live import Agent, wait_for

SHA256 = re.compile(r"^[0-9a-f]{64}$")

# What a device meets while Redis is down (Outcome.problems' ``tolerated``): its WebSocket
# handshake answers 500 (uvicorn, the consumer's redis ConnectionError) and the device tries
# again. Its polls are answered (from the database, revisions/pollcache.py CACHE_DOWN), and
# pages are not excused either.
REDIS_OUTAGE = ("GET /ws/device/ 500 ",)


class PageLoop(threading.Thread):
    """GET a page and an API answer through nginx, one after the other, until stopped;
    record every failure (a 5xx or no answer) and the slowest answer."""

    def __init__(self, url: str, token: str, paths: list[str]) -> None:
        super().__init__(daemon=True)
        self.url, self.token, self.paths = url, token, paths
        self.requests = 0
        self.failures: list[tuple[float, str, str]] = []
        self.slowest = 0.0
        self._halt = threading.Event()

    def run(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        with httpx.Client(base_url=self.url, timeout=30) as client:
            while not self._halt.is_set():
                for path in self.paths:
                    started = time.monotonic()
                    try:
                        status = str(client.get(path, headers=headers).status_code)
                    except httpx.HTTPError as exc:
                        status = type(exc).__name__
                    self.slowest = max(self.slowest, time.monotonic() - started)
                    self.requests += 1
                    if not status.startswith(("2", "3")):
                        self.failures.append((time.time(), path, status))
                self._halt.wait(0.05)

    def stop(self) -> None:
        self._halt.set()
        self.join(30)


@dataclass
class Outcome:
    """What a rollout through the cluster left behind, for the checks and the figures."""

    followers: list[str]
    members: list[dict]
    steps: dict[str, list[tuple[int, str]]]  # device -> (rev, state sha) of each revision
    # (leader's rev, device, kind, rows, follower's steps) of each rollout's deliveries
    deliveries: list[tuple[int, str, str, int, int]]
    objects: dict[str, str]  # sha -> "ok" or what is wrong with it in the bucket
    pages: PageLoop
    sockets_before: list[int]  # WebSockets per node just before the fault
    sockets_after: list[int]  # … once every device holds one again
    agents_alive: bool
    failed: list[str]  # nginx's 5xx answers to anyone (Cluster.failed_requests)
    figures: dict[str, float] = field(default_factory=dict)

    def problems(self, tolerated: tuple[str, ...] = ()) -> list[str]:
        """What went wrong: the fleet not updated once, something lost, a page failed.
        ``tolerated``: beginnings of nginx's failed lines that are not a problem."""
        found = []
        leader, *followers = self.members
        late = [m for m in followers if (m["head-rev"], m["running-rev"], m["head-status"])
                != (1, 1, "DONE")]  # fmt: skip
        if len(followers) != len(self.followers) or late:
            found.append(f"{len(late)} followers not DONE on rev 1: {late[:3]}")
        doubled = {device: revisions for device, revisions in self.steps.items()
                   if [rev for rev, _ in revisions] != [0, 1]}  # fmt: skip
        if doubled:
            found.append(f"revisions other than 0 and 1: {list(doubled.items())[:3]}")
        states = {sha for device in self.followers for rev, sha in self.steps[device] if rev}
        if len(states) != 1:
            found.append(f"the followers' revisions 1 carry {len(states)} states, not 1")
        # One delivery of the new revision per follower, carried by one revision of its own.
        doubled_deliveries = [row for row in self.deliveries if row[3:] != (1, 1)]
        if doubled_deliveries:
            found.append(f"deliveries doubled or not posted: {doubled_deliveries[:3]}")
        release = sorted((device, kind) for rev, device, kind, *_ in self.deliveries if rev == 1)
        if release != sorted((device, "release") for device in self.followers):
            found.append(f"the release went to {len(release)} of {len(self.followers)}")
        lost = {sha: what for sha, what in self.objects.items() if what != "ok"}
        if not self.objects or lost:
            found.append(f"objects lost: {lost} of {len(self.objects)}")
        if not self.pages.requests or self.pages.failures:
            found.append(f"{len(self.pages.failures)} of {self.pages.requests} page requests"
                         f" failed: {self.pages.failures[:5]}")  # fmt: skip
        if sum(self.sockets_after) != len(self.members):
            found.append(f"WebSockets per node {self.sockets_after}, {len(self.members)} devices")
        failed_gets = [line for line in self.failed if line.startswith(("GET ", "HEAD "))
                       and not line.startswith(tolerated)]  # fmt: skip
        if failed_gets:
            found.append(f"nginx answered {len(failed_gets)} GETs with 5xx: {failed_gets[:5]}")
        if not self.agents_alive:
            found.append("a trail-agent exited")
        return found


def device_ids(agent: Agent, count: int) -> list[str] | None:
    """The ids of the agent's devices once every one of them runs its factory revision."""
    homes = [agent.home] if count == 1 else [
        agent.home / f"device-{n:04d}" for n in range(1, count + 1)
    ]  # fmt: skip
    ids = []
    for home in homes:
        current = home / "current"
        if not current.is_file() or current.read_text().strip() != "0":
            return None
        ids.append(json.loads((home / "device.json").read_text())["id"])
    return ids


def object_problem(s3, bucket: str, sha: str) -> str:
    """``ok`` when the bucket holds ``sha``'s bytes (``ab/abcd…``, revisions/storage/base.py)."""
    try:
        body = s3.get_object(Bucket=bucket, Key=f"{sha[:2]}/{sha}")["Body"].read()
    except Exception as exc:  # any failure is the finding
        return f"missing: {exc}"
    return "ok" if hashlib.sha256(body).hexdigest() == sha else "corrupt"


def rollout(
    cluster: Cluster,
    folder: Path,
    devices: int,
    fault: Callable[[], None],
    processes: int = 2,
    timeout: float = 300,
) -> Outcome:
    """``devices`` followers (in ``processes`` trail-agents) and a leader; ``fault`` when
    the rollout is half-way. Returns the outcome once every follower is DONE (or the wait
    timed out: the members then say who is not)."""
    owner = cluster.owner_token()
    api = httpx.Client(base_url=cluster.url, headers={"Authorization": f"Bearer {owner}"},
                       timeout=60)  # fmt: skip

    def call(method: str, path: str, **kwargs):
        response = api.request(method, path, **kwargs)
        assert response.status_code == 200, f"{method} {path}: {response.text[:2000]}"
        return response.json()

    token = call("POST", "/devices/tokens", json={"description": "cluster"})["token"]
    sizes = [devices // processes + (n < devices % processes) for n in range(processes)]
    common = ["--auto-token", token, "--listen", "--poll-interval", "1"]
    agents = [Agent(folder / "leader", cluster.url, "--count", "1", *common)]
    agents += [Agent(folder / f"fleet-{n}", cluster.url, "--count", str(size), *common)
               for n, size in enumerate(sizes)]  # fmt: skip
    counts = [1, *sizes]
    pages: PageLoop | None = None
    try:
        for agent in agents:
            agent.start()
        started = time.monotonic()
        ids = [wait_for("the devices to run their factory state",
                        lambda a=agent, c=count: device_ids(a, c), timeout=timeout)
               for agent, count in zip(agents, counts, strict=True)]  # fmt: skip
        figures = {"devices up (s)": time.monotonic() - started}
        leader, followers = ids[0][0], [d for group in ids[1:] for d in group]
        wave = max(2, devices // 5)
        pack = call("POST", "/packs/", json={"nick": "cluster", "leader": leader,
                                             "wave-size": wave, "wave-timeout": 600})  # fmt: skip
        for device in followers:
            call("PUT", f"/packs/{pack['id']}/followers/{device}")
        everyone = devices + 1
        wait_for("every device to hold its WebSocket",
                 lambda: sum(n.sockets() for n in cluster.nodes) == everyone, timeout=120)  # fmt: skip
        pages = PageLoop(cluster.url, owner, ["/", f"/packs/{pack['id']}"])
        pages.start()
        factory = call("GET", f"/trails/{leader}/steps/0")["state"]
        state = {**factory, "trail-agent/release.json": {"version": 1}}
        released = time.monotonic()
        call("POST", f"/trails/{leader}/steps",
             json={"rev": -1, "commit-msg": "release 1", "state": state})  # fmt: skip

        def done() -> int:
            members = call("GET", f"/packs/{pack['id']}")["members"][1:]
            return sum(m["head-rev"] == 1 and m["head-status"] == "DONE" for m in members)

        wait_for("some followers to be DONE, not all",
                 lambda: 0 < done() < devices, timeout=timeout, every=0.1)  # fmt: skip
        sockets_before = [n.sockets() for n in cluster.nodes]
        figures["followers DONE at the fault"] = done()
        struck = time.monotonic()
        fault()
        wait_for("every device to hold its WebSocket again",
                 lambda: sum(n.sockets() for n in cluster.nodes) == everyone, timeout=120,
                 every=0.1)  # fmt: skip
        figures["WebSockets back (s)"] = time.monotonic() - struck
        # On a timeout, the members below show who is not DONE; the checks fail on them.
        with contextlib.suppress(AssertionError):
            wait_for("every follower to be DONE", lambda: done() == devices, timeout=timeout)
        figures["rollout (s)"] = time.monotonic() - released
        figures["after the fault (s)"] = time.monotonic() - struck
        # A socket may end a while after the fault (Redis's): every one must be back.
        with contextlib.suppress(AssertionError):
            wait_for("every device to hold its WebSocket at the end",
                     lambda: sum(n.sockets() for n in cluster.nodes) == everyone, timeout=60)  # fmt: skip
        sockets_after = [n.sockets() for n in cluster.nodes]
        time.sleep(1)  # the page loop goes on a moment after the end
        pages.stop()
        members = call("GET", f"/packs/{pack['id']}")["members"]
        steps: dict[str, list[tuple[int, str]]] = {}
        for device, rev, sha in cluster.sql(
            "SELECT trail_id, rev, state_sha FROM revisions_step ORDER BY trail_id, rev"
        ):
            steps.setdefault(device, []).append((rev, sha))
        deliveries = cluster.sql(
            "SELECT s.rev, d.device_id, d.kind, count(*), count(DISTINCT d.step_id)"
            " FROM devices_delivery d JOIN devices_rollout r ON d.rollout_id = r.id"
            " JOIN revisions_step s ON r.leader_step_id = s.id"
            " GROUP BY s.rev, d.device_id, d.kind"
        )
        shas = {
            value
            for device in followers
            for value in call("GET", f"/trails/{device}/steps/1")["state"].values()
            if isinstance(value, str) and SHA256.match(value)
        }
        s3 = cluster.s3()
        objects = {sha: object_problem(s3, cluster.bucket, sha) for sha in shas}
        alive = all(agent.alive() for agent in agents)
    finally:
        if pages is not None and pages.is_alive():
            pages.stop()
        for agent in agents:
            agent.stop()
        api.close()
    failed = cluster.failed_requests()
    figures.update(page_requests=pages.requests, page_failures=len(pages.failures),
                   slowest_page=pages.slowest, failed_answers=len(failed))  # fmt: skip
    return Outcome(followers, members, steps, deliveries, objects, pages, sockets_before,
                   sockets_after, alive, failed, figures)  # fmt: skip
