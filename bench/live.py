"""Live status: event latency to 1,000 browsers watching one device; memory of idle devices.

    .venv/bin/python bench/live.py [--watchers 1000] [--clients 4] [--events 30] [--devices 10000]

Starts the hub as deployed (uvicorn with two workers, PostgreSQL, the Redis
channel layer). ``--watchers`` WebSockets watch one public device's page
(``/ws/devices/<id>/``, with an ``Origin`` as browsers send), spread over
``--clients`` processes so that one client's event loop working through its
sockets is not counted as the server's delay. The device then reports
progress: once untimed (the first request a fresh worker serves is slow,
printed apart), then ``--events`` times, each report carrying the time just
before its request; every watcher notes when the event arrives, and the
latency of each (event, watcher) pair is summarised.

Then ``--devices`` devices each open their own socket (``/ws/device/``),
``--connect-rate`` a second, and stay idle; the server's resident memory is
printed before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import resource
import signal
import statistics
import time
from multiprocessing.connection import Connection

import httpx
import websockets
from common import Server, django_setup, environment, machine, reset_database
from poll import seed, tokens_for

SPEC = "pantavisor-service-system@1"
#: Reports before the timed ones: the first request each fresh worker serves is slow
#: (lazy set-up, first connections); with two HTTP and two WebSocket workers, four.
COLD = 4


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--watchers", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=4, help="processes the watchers run in")
    parser.add_argument("--events", type=int, default=30)
    parser.add_argument("--gap", type=float, default=0.5, help="seconds between two reports")
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--connect-rate", type=int, default=500, help="device sockets a second")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--deflate",
        choices=("on", "off"),
        default="on",
        help="uvicorn's --ws-per-message-deflate (browsers ask for it; on is uvicorn's default)",
    )
    parser.add_argument(
        "--http",
        choices=("gunicorn", "uvicorn"),
        default="gunicorn",
        help="who serves the device's progress reports: gunicorn x2 beside the WebSocket"
        " workers, as deployed, or the WebSocket workers themselves",
    )
    parser.add_argument(
        "--ws",
        choices=("websockets", "websockets-sansio", "wsproto"),
        default="websockets-sansio",
        help="uvicorn's --ws, its WebSocket implementation (auto picks websockets-sansio)",
    )
    return parser.parse_args()


def raise_file_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# --- watchers: one process per share of the sockets ------------------------


def watchers(url: str, origin: str, count: int, pipe: Connection) -> None:
    """A client process: open ``count`` sockets, say "ready", note arrivals until "stop"."""
    raise_file_limit()
    asyncio.run(_watch(url, origin, count, pipe))


async def _watch(url: str, origin: str, count: int, pipe: Connection) -> None:
    arrivals: dict[str, list[float]] = {"cold": [], "timed": []}
    sockets = []
    for start in range(0, count, 50):  # in batches, as pages open
        batch = [
            websockets.connect(url, origin=origin, max_size=None, open_timeout=120)
            for _ in range(min(50, count - start))
        ]
        sockets += await asyncio.gather(*batch)

    async def read(ws) -> None:
        async for raw in ws:
            event = json.loads(raw)
            kind, _, sent = event.get("status_msg", "").partition(" t=")
            if event.get("type") == "progress" and kind in arrivals:
                arrivals[kind].append(time.time() - float(sent))

    readers = [asyncio.create_task(read(ws)) for ws in sockets]
    pipe.send("ready")
    await asyncio.get_running_loop().run_in_executor(None, pipe.recv)  # "stop"
    for reader in readers:
        reader.cancel()
    await asyncio.gather(*readers, return_exceptions=True)
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    pipe.send(arrivals)


def latency(
    server: Server, http: str, device_id: str, rev: int, token: str, args
) -> dict[str, list]:
    url = server.url.replace("http", "ws") + f"/ws/devices/{device_id}/"
    spawn = multiprocessing.get_context("spawn")
    clients = []
    for n in range(args.clients):
        share = args.watchers // args.clients + (n < args.watchers % args.clients)
        ours, theirs = spawn.Pipe()
        process = spawn.Process(target=watchers, args=(url, server.url, share, theirs))
        process.start()
        clients.append((process, ours))
    for _, pipe in clients:
        if not pipe.poll(300):
            raise RuntimeError("the watchers did not connect in 5 minutes")
        assert pipe.recv() == "ready"

    progress = f"{http}/trails/{device_id}/steps/{rev}/progress"
    found: dict[str, list] = {"cold": [], "timed": [], "requests": []}
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=60) as device:
        for n in range(COLD + args.events):
            kind = "cold" if n < COLD else "timed"
            body = {"status": "DOWNLOADING", "progress": n % 100}
            body["status-msg"] = f"{kind} t={time.time()}"
            answer = device.put(progress, json=body)
            assert answer.status_code == 200, answer.text
            if kind == "timed":
                found["requests"].append(answer.elapsed.total_seconds())
            time.sleep(args.gap if kind == "timed" else 2)
    time.sleep(2)

    for process, pipe in clients:
        pipe.send("stop")
        for kind, values in pipe.recv().items():
            found[kind] += values
        process.join()
    return found


def summary(latencies: list[float], expected: int) -> str:
    if not latencies:
        return f"0/{expected} delivered"
    latencies = sorted(latencies)
    p = lambda q: latencies[min(len(latencies) - 1, int(len(latencies) * q))] * 1000  # noqa: E731
    return (
        f"{len(latencies)}/{expected} delivered; latency p50 {p(0.5):.0f} ms,"
        f" p99 {p(0.99):.0f} ms, max {latencies[-1] * 1000:.0f} ms,"
        f" mean {statistics.mean(latencies) * 1000:.0f} ms"
    )


# --- idle device sockets ----------------------------------------------------


async def idle_devices(server: Server, tokens: list[tuple[str, str]], rate: int) -> list:
    """Open one socket per device, ``rate`` a second (agents spread their reconnects)."""
    url = server.url.replace("http", "ws") + "/ws/device/"
    sockets = []

    async def connect(token: str):
        ws = await websockets.connect(
            url, additional_headers={"Authorization": f"Bearer {token}"}, open_timeout=120
        )
        await ws.recv()  # the hello: the device's newest revision
        sockets.append(ws)

    pending = []
    for n, (_, token) in enumerate(tokens):
        pending.append(asyncio.create_task(connect(token)))
        if n % 50 == 49:
            await asyncio.sleep(50 / rate)
    results = await asyncio.gather(*pending, return_exceptions=True)
    failed = [r for r in results if isinstance(r, BaseException)]
    if failed:
        print(f"{len(failed)} device sockets failed to open, e.g. {failed[0]!r}")
    return sockets


def main() -> None:
    args = parse_args()
    raise_file_limit()
    reset_database()
    django_setup(environment())
    from django.contrib.auth import get_user_model
    from django.db import connections

    from devices.models import Device
    from portal.auth import issue_token
    from revisions import services

    ids = seed(args.devices, 1)
    owner = get_user_model().objects.get(username="fleet")
    watched = Device.objects.create(owner=owner, nick="watched", public=True)
    trail = services.create_trail(watched, {"#spec": SPEC})
    step = services.post_step(trail, {"#spec": SPEC, "a.json": 1}, author=owner)
    device_token = issue_token(watched)
    tokens = tokens_for(ids, args.devices)
    connections.close_all()
    print(machine())
    deflate = "true" if args.deflate == "on" else "false"
    with (
        Server(
            "uvicorn",
            args.workers,
            preexec_fn=raise_file_limit,
            UVICORN_WS_PER_MESSAGE_DEFLATE=deflate,
            UVICORN_WS=args.ws,
        ) as server,
        contextlib.ExitStack() as stack,
    ):
        workers = server.pids()[1:]
        http = server.url
        if args.http == "gunicorn":
            http = stack.enter_context(Server("gunicorn", 2)).url
        found = latency(server, http, watched.id, step.rev, device_token, args)
        print(
            f"{args.watchers} watchers in {args.clients} client processes,"
            f" per-message deflate {args.deflate}, uvicorn --ws {args.ws};"
            f" progress reports to {args.http}"
        )
        cold = summary(found["cold"], args.watchers * COLD)
        print(f"  the first {COLD} reports after start (cold workers): {cold}")
        print(
            f"  {args.events} events, {args.gap} s apart:"
            f" {summary(found['timed'], args.watchers * args.events)}"
        )
        took = sorted(found["requests"])
        print(
            f"  the reports' own requests: median {statistics.median(took) * 1000:.0f} ms,"
            f" max {took[-1] * 1000:.0f} ms"
        )
        before = server.rss_mib()

        async def hold():
            sockets = await idle_devices(server, tokens, args.connect_rate)
            await asyncio.sleep(5)
            after = server.rss_mib()
            await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
            return len(sockets), after

        opened, after = asyncio.run(hold())
        print(
            f"{opened} idle device sockets: server RSS {before:.0f} -> {after:.0f} MiB"
            f" ({(after - before) * 1024 / max(opened, 1):.1f} KiB per socket)"
        )
    for pid in workers:
        # A worker still waiting on its consumers when uvicorn's master was killed
        # would outlive the run (and hold this script's stdout open).
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


if __name__ == "__main__":
    main()
