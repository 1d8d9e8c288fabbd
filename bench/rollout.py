"""A pack rollout at fleet scale: ``--devices`` trail-agent devices follow one leader.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/trailhub_bench_rollout \\
    REDIS_URL=redis://127.0.0.1:6379/11 \\
    .venv/bin/python bench/rollout.py --devices 1000 [--s3] [--profile 60]

The hub runs as deployed (bench/common.py: gunicorn workers serving
``trailhub.wsgi:application``, a Celery worker for the rollout's tasks
(packs/tasks.py), PostgreSQL, Redis; with ``--s3`` the objects are in a Swift
bucket, revisions/tests/swift_s3.sh). The devices are ``trail-agent``
processes (``--processes``, ``--count`` devices each) owned at birth with a
factory token, polling every ``--poll-interval`` seconds. Once every device
runs its factory revision they all follow one pack (waves of ``--wave-size``,
no canary). The hub is then left alone with its polling fleet for
``--baseline`` seconds (the idle cost), and the owner posts the leader a
revision that changes one 1 MiB object and one ``.json`` file.

Printed: the time from the leader's DONE to the last follower's DONE (both
the hub's progress times); the hub's CPU seconds (utime+stime of the gunicorn
and Celery processes, from /proc) and requests (``trailhub_http_requests``
of /metrics) from the post to the last DONE, raw and with the idle rate
subtracted, per device update; the agents' CPU seconds for comparison. With
``--profile SECONDS``, py-spy records every gunicorn worker and the Celery
worker's children from the leader's DONE on (raw folded stacks of the samples
holding the GIL, which is CPU; the paths are printed).
"""

from __future__ import annotations

import argparse
import atexit
import hashlib
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
from common import (
    ROOT,
    Server,
    django_setup,
    environment,
    machine,
    reset_database,
    scratch,
)

from testsupport.live import Agent, create_bucket, free_port, stop_process, wait_for

PASSWORD = "rollout-bench-password"
METRICS_TOKEN = "rollout-bench-metrics-token"
TICKS = os.sysconf("SC_CLK_TCK")
POLL_ROUTE = "api-steps"  # GET /trails/<id>/steps
SWIFT = ROOT / "revisions" / "tests" / "swift_s3.sh"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=1000, help="followers")
    parser.add_argument("--processes", type=int, default=os.cpu_count(), help="agent processes")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--poll-interval", type=int, default=5)
    parser.add_argument("--max-connections", type=int, default=16, help="per agent process")
    parser.add_argument("--wave-size", type=int, default=1000)
    parser.add_argument("--baseline", type=int, default=60, help="seconds of idle polling")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds for the rollout")
    parser.add_argument("--s3", action="store_true", help="objects in a Swift S3 bucket")
    parser.add_argument(
        "--profile", type=int, default=0, metavar="SECONDS",
        help="py-spy every gunicorn worker and Celery child for SECONDS after the leader's DONE",
    )  # fmt: skip
    return parser.parse_args()


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of the processes still running (their waited-for children too)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
    return total / TICKS


def descendants(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    children = [int(p) for p in out.split()]
    return [pid, *(d for child in children for d in descendants(child))]


class Hub:
    """gunicorn and a Celery worker on the benchmark's database, with /metrics on."""

    def __init__(self, workers: int, folder: Path, **env: str) -> None:
        counters = folder / "prometheus"
        counters.mkdir()
        env.update(PROMETHEUS_MULTIPROC_DIR=str(counters), METRICS_TOKEN=METRICS_TOKEN)
        self.server = Server("gunicorn", workers, **env)
        self.env = self.server.env
        self.celery: subprocess.Popen | None = None

    def __enter__(self) -> Hub:
        command = [sys.executable, "-m", "celery", "-A", "trailhub", "worker",
                   "--queues", "trailhub", "--loglevel", "WARNING"]  # fmt: skip
        self.celery = subprocess.Popen(command, cwd=ROOT, env=self.env)
        self.server.start()
        self.url = self.server.url
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()
        stop_process(self.celery)

    def pids(self) -> dict[str, list[int]]:
        return {"gunicorn": self.server.pids(), "celery": descendants(self.celery.pid)}

    def cpu(self) -> dict[str, float]:
        return {name: cpu_seconds(pids) for name, pids in self.pids().items()}

    def requests(self) -> dict[str, float]:
        """Requests answered so far, by route (every worker's counters)."""
        text = httpx.get(
            self.url + "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
        ).text
        counts: dict[str, float] = {}
        for route, value in re.findall(
            r'^trailhub_http_requests_total\{[^}]*route="([^"]*)"[^}]*\} (\S+)$', text, re.M
        ):
            counts[route] = counts.get(route, 0) + float(value)
        return counts


def start_swift(folder: Path) -> dict[str, str]:
    """Swift with s3api on free ports and a bucket in it; the hub's S3_* settings."""
    import boto3

    ports = [free_port() for _ in range(5)]
    names = ("PORT", "OBJECT_PORT", "CONTAINER_PORT", "ACCOUNT_PORT", "MEMCACHED_PORT")
    env = {**os.environ, "SWIFT_S3_DIR": str(folder / "swift")}
    env.update({f"SWIFT_S3_{n}": str(p) for n, p in zip(names, ports, strict=True)})
    subprocess.run([str(SWIFT), "start"], env=env, check=True, capture_output=True, timeout=180)
    atexit.register(subprocess.run, [str(SWIFT), "stop"], env=env, check=False)
    settings = {
        "S3_BUCKET": "trailhub-rollout", "S3_ENDPOINT_URL": f"http://127.0.0.1:{ports[0]}",
        "S3_ACCESS_KEY_ID": "test:tester", "S3_SECRET_ACCESS_KEY": "testing",
    }  # fmt: skip
    client = boto3.client(
        "s3", endpoint_url=settings["S3_ENDPOINT_URL"], region_name="us-east-1",
        aws_access_key_id="test:tester", aws_secret_access_key="testing",
    )  # fmt: skip
    create_bucket(client, settings["S3_BUCKET"])
    return settings


class Owner:
    """The fleet's owner, through the API."""

    def __init__(self, url: str) -> None:
        from django.contrib.auth import get_user_model

        get_user_model().objects.create_user("fleet", "fleet@example.com", PASSWORD)
        token = httpx.post(url + "/auth/login", json={"username": "fleet", "password": PASSWORD})
        self.http = httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {token.json()['token']}"}, timeout=60
        )

    def call(self, method: str, path: str, **kwargs):
        response = self.http.request(method, path, **kwargs)
        assert response.status_code == 200, f"{method} {path}: {response.text}"
        return response.json()

    def upload(self, name: str, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        body = {"objectname": name, "size": str(len(data)), "sha256sum": sha}
        put = self.call("POST", "/objects", json=body)["signed-puturl"]
        assert httpx.put(put, content=data, timeout=60).status_code in (200, 201)
        return sha


def start_fleet(url: str, folder: Path, args, token: str) -> list[Agent]:
    """The leader's agent, then the followers' agents, ``--devices`` spread over
    ``--processes``."""
    common = ["--auto-token", token, "--poll-interval", str(args.poll_interval),
              "--max-connections", str(args.max_connections)]  # fmt: skip
    agents = [Agent(folder / "leader", url, *common).start()]
    share, extra = divmod(args.devices, args.processes)
    for n in range(args.processes):
        count = share + (n < extra)
        if count:
            home = folder / f"fleet-{n}"
            agents.append(Agent(home, url, "--count", str(count), *common).start())
    return agents


def homes(agent: Agent) -> list[Path]:
    if "--count" not in agent.args:
        return [agent.home]
    count = int(agent.args[agent.args.index("--count") + 1])
    return [agent.home / f"device-{n:04d}" for n in range(1, count + 1)]


def running_factory(agents: list[Agent]) -> list[str] | None:
    """Every device's id, leader first, once each runs its revision 0."""
    ids = []
    for agent in agents:
        assert agent.alive(), agent.text()[-2000:]
        for home in homes(agent):
            current = home / "current"
            if not current.is_file() or current.read_text().strip() != "0":
                return None
            ids.append(json.loads((home / "device.json").read_text())["id"])
    return ids


def agents_cpu(agents: list[Agent]) -> float:
    return cpu_seconds([a.process.pid for a in agents if a.process])


def join(pack_id: str, followers: list[str]) -> None:
    """The followers join in order, through the service behind ``PUT /packs/<id>/followers/
    <device>`` (in this process: 10,000 HTTP requests would only time the joining)."""
    from devices.models import Device
    from packs.models import Pack
    from packs.services.membership import add_follower

    pack, devices = Pack.objects.get(pk=pack_id), Device.objects.in_bulk(followers)
    for device_id in followers:
        add_follower(pack, devices[device_id])


def release(owner: Owner, leader: str) -> int:
    """Post the leader a revision: one 1 MiB object and one .json file changed."""
    factory = owner.call("GET", f"/trails/{leader}/steps/0")["state"]
    data = os.urandom(1 << 20)
    state = {**factory, "bsp/firmware.squashfs": owner.upload("firmware.squashfs", data)}
    state["bsp/run.json"] = {**factory["bsp/run.json"], "release": data[:8].hex()}
    body = {"rev": -1, "commit-msg": "release 1", "state": state}
    return owner.call("POST", f"/trails/{leader}/steps", json=body)["rev"]


def done_times(trail_ids: list[str], rev: int) -> tuple[int, float | None]:
    """How many of the trails' revision ``rev`` are DONE, and the latest DONE time."""
    from django.db.models import Count, Max

    from revisions.models import Step

    found = Step.objects.filter(trail_id__in=trail_ids, rev=rev, status="DONE").aggregate(
        n=Count("id"), last=Max("progress_time")
    )
    return found["n"], found["last"].timestamp() if found["last"] else None


def profile(pids: list[int], seconds: int) -> list[subprocess.Popen]:
    """py-spy on each of ``pids`` for ``seconds``: raw folded stacks of the samples
    holding the GIL (which is CPU), one file each under /tmp."""
    spies = []
    for pid in pids:
        out = Path("/tmp") / f"rollout-py-spy-{pid}.txt"
        command = [str(Path(sys.executable).parent / "py-spy"), "record", "-p", str(pid), "-d", str(seconds),
                   "--format", "raw", "--gil", "-o", str(out)]  # fmt: skip
        spies.append(
            subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        )
    print(f"py-spy: recording {pids} for {seconds} s into /tmp/rollout-py-spy-<pid>.txt")
    return spies


def per_update(label: str, total: float, idle: float, updates: int, unit: str = "") -> str:
    net = total - idle
    return (f"{label}: {total:.1f}{unit} in the rollout, {idle:.1f}{unit} of it idle polling;"
            f" per device update {total / updates * (1000 if unit else 1):.2f}"
            f"{' ms' if unit else ''} raw, {net / updates * (1000 if unit else 1):.2f}"
            f"{' ms' if unit else ''} net")  # fmt: skip


def diff(after: dict, before: dict) -> dict:
    return {k: after.get(k, 0) - before.get(k, 0) for k in after}


def main() -> None:
    args = parse_args()
    folder = scratch("trailhub-rollout-")
    started = time.monotonic()
    print(f"{machine()}; {args.devices} followers in {args.processes} agent processes,"
          f" {args.workers} gunicorn workers, {'S3 (Swift)' if args.s3 else 'filesystem'}"
          f" objects")  # fmt: skip
    reset_database()
    extra = start_swift(folder) if args.s3 else {}
    django_setup(environment(**extra))
    with Hub(args.workers, folder, **extra) as hub:
        owner = Owner(hub.url)
        token = owner.call("POST", "/devices/tokens", json={"description": "fleet"})["token"]
        agents = start_fleet(hub.url, folder / "agents", args, token)
        try:
            run(args, hub, owner, agents, folder, started)
        finally:
            for agent in agents:
                agent.stop()


def run(args, hub: Hub, owner: Owner, agents: list[Agent], folder: Path, started) -> None:
    ids = wait_for("every device to run its factory revision",
                   lambda: running_factory(agents), timeout=3600, every=2)  # fmt: skip
    leader, followers = ids[0], ids[1:]
    print(f"{len(ids)} devices run their factory revision after {time.monotonic() - started:.0f} s")
    body = {"nick": "fleet", "leader": leader, "canary-share": 0, "wave-size": args.wave_size,
            "failure-threshold": 1, "wave-timeout": args.timeout}  # fmt: skip
    pack = owner.call("POST", "/packs/", json=body)["id"]
    join(pack, followers)
    print(f"{len(followers)} followers joined after {time.monotonic() - started:.0f} s")
    time.sleep(2 * args.poll_interval)  # every device has polled since
    cpu0, req0, agents0, t0 = hub.cpu(), hub.requests(), agents_cpu(agents), time.monotonic()
    time.sleep(args.baseline)
    cpu1, req1, agents1, t1 = hub.cpu(), hub.requests(), agents_cpu(agents), time.monotonic()
    idle_rate = {k: v / (t1 - t0) for k, v in diff(cpu1, cpu0).items()}
    idle_req_rate = sum(diff(req1, req0).values()) / (t1 - t0)
    idle_agents_rate = (agents1 - agents0) / (t1 - t0)
    print(f"idle, {t1 - t0:.0f} s: hub CPU {sum(idle_rate.values()):.3f} s/s"
          f" ({', '.join(f'{k} {v:.3f}' for k, v in idle_rate.items())}),"
          f" {idle_req_rate:.0f} req/s; agents' CPU {idle_agents_rate:.3f} s/s")  # fmt: skip

    posted = time.monotonic()
    rev = release(owner, leader)
    wait_for("the leader's DONE", lambda: done_times([leader], rev)[0], timeout=300, every=0.5)
    leader_done = done_times([leader], rev)[1]
    pids = hub.pids()
    spies = profile(pids["gunicorn"][1:] + pids["celery"][1:], args.profile) if args.profile else []
    new_rev = 1  # the followers' first revision after the factory one

    def all_done():
        count, last = done_times(followers, new_rev)
        return last if count == len(followers) else None

    last_done = wait_for("every follower's DONE", all_done, timeout=args.timeout, every=1)
    cpu2, req2, agents2, t2 = hub.cpu(), hub.requests(), agents_cpu(agents), time.monotonic()
    for spy in spies:
        spy.wait()
    seconds, updates = t2 - posted, len(ids)
    hub_cpu = diff(cpu2, cpu1)
    requests = diff(req2, req1)
    print(f"\nrollout: leader DONE to last follower DONE {last_done - leader_done:.1f} s"
          f" ({len(followers)} followers, waves of {args.wave_size});"
          f" post to last DONE {seconds:.1f} s; load {os.getloadavg()[0]:.1f}")  # fmt: skip
    print(per_update("hub CPU", sum(hub_cpu.values()), sum(idle_rate.values()) * seconds,
                     updates, " s"))  # fmt: skip
    for name, value in hub_cpu.items():
        print("  " + per_update(name, value, idle_rate[name] * seconds, updates, " s"))
    print(per_update("requests", sum(requests.values()), idle_req_rate * seconds, updates))
    # Updating devices do not poll: the idle rate overstates the polls of the rollout.
    polls = requests.get(POLL_ROUTE, 0)
    print(f"  other than polls: {(sum(requests.values()) - polls) / updates:.1f} per device update")
    top = sorted(requests.items(), key=lambda kv: -kv[1])[:8]
    print("  by route: " + ", ".join(f"{route} {n / updates:.1f}" for route, n in top))
    print(per_update("agents' CPU", agents2 - agents1, idle_agents_rate * seconds, updates, " s"))


if __name__ == "__main__":
    main()
