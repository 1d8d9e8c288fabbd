"""Live status: event latency to 1,000 browsers watching one device; memory of idle devices.

    .venv/bin/python bench/live.py [--watchers 1000] [--events 30] [--devices 10000]

Starts the hub as deployed (uvicorn with two workers, PostgreSQL, the Redis
channel layer). 1,000 WebSockets watch one public device's page
(``/ws/devices/<id>/``); the device then reports progress ``--events``
times through the API, each report carrying the time it was sent, and every
watcher notes when the event arrives: the latency of each (event, watcher)
pair, from just before the device's request to the watcher, is summarised.
Then ``--devices`` devices each open their own socket (``/ws/device/``) and
stay idle; the server's resident memory is printed before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import time

import httpx
import websockets
from common import Server, django_setup, environment, machine, reset_database
from poll import seed, tokens_for

SPEC = "pantavisor-service-system@1"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--watchers", type=int, default=1000)
    parser.add_argument("--events", type=int, default=30)
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    return parser.parse_args()


def raise_file_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def watch(url: str, origin: str, latencies: list[float], ready: asyncio.Event, count: list):
    async with websockets.connect(url, origin=origin, max_size=None, open_timeout=60) as ws:
        count[0] += 1
        if count[0] == count[1]:
            ready.set()
        async for raw in ws:
            event = json.loads(raw)
            sent = event.get("status_msg", "")
            if event.get("type") == "progress" and sent.startswith("t="):
                latencies.append(time.time() - float(sent[2:]))


async def latency(server: Server, device_id: str, rev: int, token: str, args) -> list[float]:
    ws_url = server.url.replace("http", "ws") + f"/ws/devices/{device_id}/"
    latencies: list[float] = []
    ready, count = asyncio.Event(), [0, args.watchers]
    tasks = []
    for n in range(args.watchers):
        tasks.append(asyncio.create_task(watch(ws_url, server.url, latencies, ready, count)))
        if n % 100 == 99:
            await asyncio.sleep(0)  # let the connections open in batches
    await asyncio.wait_for(ready.wait(), 120)
    url = f"{server.url}/trails/{device_id}/steps/{rev}/progress"
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as client:
        for n in range(args.events):
            body = {"status": "DOWNLOADING", "progress": n % 100, "status-msg": f"t={time.time()}"}
            answer = await client.put(url, json=body)
            assert answer.status_code == 200, answer.text
            await asyncio.sleep(0.5)
    await asyncio.sleep(2)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return latencies


async def idle_devices(server: Server, tokens: list[tuple[str, str]]) -> list:
    url = server.url.replace("http", "ws") + "/ws/device/"
    sockets = []
    gate = asyncio.Semaphore(100)

    async def connect(token: str):
        async with gate:
            ws = await websockets.connect(
                url, additional_headers={"Authorization": f"Bearer {token}"}, open_timeout=120
            )
            await ws.recv()  # the hello: the device's newest revision
            sockets.append(ws)

    results = await asyncio.gather(*(connect(t) for _, t in tokens), return_exceptions=True)
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
    with Server("uvicorn", args.workers, preexec_fn=raise_file_limit) as server:
        latencies = asyncio.run(latency(server, watched.id, step.rev, device_token, args))
        expected = args.watchers * args.events
        latencies.sort()
        p = lambda q: latencies[min(len(latencies) - 1, int(len(latencies) * q))] * 1000  # noqa: E731
        print(
            f"{args.watchers} watchers x {args.events} events: {len(latencies)}/{expected}"
            f" delivered; latency p50 {p(0.5):.0f} ms, p99 {p(0.99):.0f} ms,"
            f" max {latencies[-1] * 1000:.0f} ms, mean {statistics.mean(latencies) * 1000:.0f} ms"
        )
        before = server.rss_mib()

        async def hold():
            sockets = await idle_devices(server, tokens)
            await asyncio.sleep(5)
            after = server.rss_mib()
            for ws in sockets:
                await ws.close()
            return len(sockets), after

        opened, after = asyncio.run(hold())
        print(
            f"{opened} idle device sockets: server RSS {before:.0f} -> {after:.0f} MiB"
            f" ({(after - before) * 1024 / opened:.1f} KiB per socket)"
        )


if __name__ == "__main__":
    main()
