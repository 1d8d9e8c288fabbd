"""Device polling: ``GET /trails/<id>/steps`` as a device, against a trivial view, in one run.

    .venv/bin/python bench/poll.py                       # 1: throughput, 10,000 devices
    .venv/bin/python bench/poll.py --server gunicorn --workers 4
    .venv/bin/python bench/poll.py --scale               # 2: latency, 1,000 vs 100,000 devices
    .venv/bin/python bench/poll.py --conditional --nginx --server granian --workers 2

With ``--nginx``, each round also times nginx answering a conditional GET of a
static file with a 304, on the same machine (the idle device's poll against
the web server's own limit); ``--app django`` serves Django's handler without
the pre-dispatcher (trailhub/fastpoll.py) in front. ``--front`` sends the
polls through nginx serving deploy/nginx.conf in front of the server, as a
deployed node takes them.

Throughput (1): seeds ``--devices`` devices (one in ten with a revision
waiting), starts the server as a deployment runs it (PostgreSQL, Redis,
``--workers`` processes), and alternates wrk runs of the poll (each request
as another device, with its own token) and of a trivial Django view on the
same server; prints requests per second of each and their ratio, round by
round, and how many devices one server carries at a 5 s poll interval.

Scale (2): the same poll's latency with 1,000 devices (10,000 revisions) and
with 100,000 devices (1,000,000 revisions), seeded with COPY; prints both,
their ratio, and the query plans of the poll's queries.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import json
import statistics
import subprocess
import time

import httpx
from common import (
    Nginx,
    Server,
    django_setup,
    environment,
    machine,
    reset_database,
    scratch,
    wrk,
    wrk_script,
)

from testsupport import nginx
from testsupport.live import free_port, stop_process, wait_for

SPEC = "pantavisor-service-system@1"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--revisions", type=int, default=2, help="revisions per device")
    parser.add_argument("--server", default="gunicorn", choices=("uvicorn", "gunicorn", "granian"))
    parser.add_argument(
        "--app",
        default="fast",
        choices=("fast", "django"),
        help="fast: trailhub.wsgi (the unchanged poll answered in front of Django);"
        " django: Django's handler alone",
    )
    parser.add_argument(
        "--nginx",
        action="store_true",
        help="also time nginx answering a conditional GET of a static file (304) each round",
    )
    parser.add_argument("--nginx-workers", type=int, default=2)
    parser.add_argument(
        "--front",
        action="store_true",
        help="time the poll through nginx with deploy/nginx.conf in front of the server, as a"
        " deployed node answers it (the proxy's CPU counted)",
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="granian: blocking threads per worker"
    )
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--warmup",
        type=int,
        default=60,
        help="seconds of polling before the rounds: every worker process has then"
        " answered most devices once, as in a fleet that has been running a while",
    )
    parser.add_argument(
        "--polled", type=int, default=10_000, help="devices whose tokens wrk cycles through"
    )
    parser.add_argument("--scale", action="store_true", help="benchmark 2: 1k vs 100k devices")
    parser.add_argument(
        "--presence-interval",
        type=int,
        default=30,
        help="PRESENCE_WRITE_INTERVAL of the server (the default is 30 s)",
    )
    parser.add_argument(
        "--conditional", action="store_true", help="polls send If-None-Match (answers are 304)"
    )
    return parser.parse_args()


def copy_rows(model, rows) -> None:
    """COPY ``rows`` (dicts of column values; missing ones get the field's default) into
    ``model``'s table."""
    from django.db import connection

    auto = ("AutoField", "BigAutoField")
    fields = [f for f in model._meta.concrete_fields if f.get_internal_type() not in auto]
    columns = [f.column for f in fields]
    defaults = {f.column: f.get_default() for f in fields}
    json_columns = {f.column for f in fields if f.get_internal_type() == "JSONField"}
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(
            f"COPY {model._meta.db_table} ({', '.join(columns)}) FROM STDIN"
        ) as copy,
    ):
        for row in rows:
            values = []
            for column in columns:
                value = row.get(column, defaults[column])
                if column in json_columns and value is not None:
                    value = json.dumps(value)
                values.append(value)
            copy.write_row(values)


def seed(devices: int, revisions: int) -> list[str]:
    """``devices`` devices of one owner, each with ``revisions`` revisions (the newest
    waiting for one device in ten, the others DONE); returns the device ids."""
    from django.contrib.auth import get_user_model

    from devices.models import Device
    from portal.ids import new_id
    from revisions.models import Step, Trail

    owner = get_user_model().objects.create_user("fleet", "fleet@example.com", "x" * 20)
    now = dt.datetime.now(dt.UTC)
    ids = [new_id() for _ in range(devices)]
    copy_rows(
        Device,
        (
            {"id": i, "nick": f"dev-{n:06d}", "owner_id": owner.id, "time_created": now,
             "time_modified": now, "user_meta": {}, "device_meta": {}}
            for n, i in enumerate(ids)
        ),
    )  # fmt: skip
    copy_rows(
        Trail,
        ({"device_id": i, "time_created": now, "last_touched": now, "head_rev": revisions - 1}
         for i in ids),
    )  # fmt: skip

    def steps():
        for n, device_id in enumerate(ids):
            for rev in range(revisions):
                state = {"#spec": SPEC, "app/run.json": {"rev": rev}, "device.json": {"n": n}}
                waiting = rev == revisions - 1 and rev > 0 and n % 10 == 0
                yield {
                    "trail_id": device_id, "rev": rev, "commit_msg": f"rev {rev}",
                    "state": state, "state_sha": hashlib.sha256(str(rev).encode()).hexdigest(),
                    "meta": {}, "author_id": owner.id, "time_created": now, "time_modified": now,
                    "status": "NEW" if waiting else "DONE", "progress": 0 if waiting else 100,
                    "downloads": {}, "progress_time": None if waiting else now,
                }  # fmt: skip

    copy_rows(Step, steps())
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return ids


def tokens_for(ids: list[str], count: int) -> list[tuple[str, str]]:
    from devices.models import Device
    from portal.auth import issue_token

    chosen = ids[:: max(1, len(ids) // count)][:count]
    devices = Device.objects.select_related("owner").in_bulk(chosen)
    return [(i, issue_token(devices[i])) for i in chosen]


def poll_requests(tokens, etags: dict[str, str] | None = None, query: str = ""):
    for device_id, token in tokens:
        headers = {"Authorization": f"Bearer {token}"}
        if etags:
            headers["If-None-Match"] = etags[device_id].replace('"', '\\"')
        yield f"/trails/{device_id}/steps{query}", headers


def etags_of(url: str, tokens) -> dict[str, str]:
    """Each device's current poll ETag, as a device that polled before holds it."""
    with httpx.Client(base_url=url) as client:
        return {
            device_id: client.get(
                f"/trails/{device_id}/steps", headers={"Authorization": f"Bearer {token}"}
            ).headers["ETag"]
            for device_id, token in tokens
        }


def explain(device_id: str) -> str:
    """The plans of the poll's queries for one device."""
    from django.db import connection

    from devices.models import Device
    from revisions.models import Step

    plans = []
    queries = [
        Device.objects.select_related("owner").filter(id=device_id),
        Step.objects.filter(trail_id=device_id).select_related("author").pending()[:1],
    ]
    with connection.cursor() as cursor:
        for queryset in queries:
            sql, params = queryset.query.sql_with_params()
            cursor.execute("EXPLAIN ANALYZE " + sql, params)
            plans.append("\n".join(row[0] for row in cursor.fetchall()))
    return "\n\n".join(plans)


def start_nginx(folder, workers: int):
    """nginx serving a 2-byte static file; ``(url, wrk script, Nginx)``, the script sending
    the file's ETag in If-None-Match, so that every answer is a 304."""
    root = folder / "static"
    root.mkdir()
    (root / "steps.json").write_bytes(b"[]")
    nginx = Nginx(root, folder, workers)
    url = f"http://127.0.0.1:{nginx.port}"
    etag = httpx.get(url + "/steps.json").headers["ETag"]
    assert httpx.get(url + "/steps.json", headers={"If-None-Match": etag}).status_code == 304
    headers = {"If-None-Match": etag.replace('"', '\\"')}
    return url, wrk_script([("/steps.json", headers)], folder), nginx


@contextlib.contextmanager
def front_of(port: int, folder, workers: int):
    """nginx with deploy/nginx.conf sending every request to ``port``; yields its URL."""
    front = free_port()
    (folder / "front").mkdir()
    conf = nginx.configure(
        folder / "front", front=front, http=port, ws=port, poll=port, workers=workers
    )
    process = subprocess.Popen(["nginx", "-c", str(conf), "-p", str(conf.parent)])
    try:
        url = f"http://127.0.0.1:{front}"
        wait_for("nginx in front", lambda: httpx.get(url + "/healthz").status_code == 200)
        yield url
    finally:
        stop_process(process)


def throughput(args) -> None:
    started = time.perf_counter()
    reset_database()
    env = environment()
    django_setup(env)
    ids = seed(args.devices, args.revisions)
    tokens = tokens_for(ids, args.polled)
    print(f"{machine()}; seeded {args.devices} devices in {time.perf_counter() - started:.0f} s")
    folder = scratch("trailhub-wrk-")
    trivial = wrk_script(
        (("/__trivial__/", {"Authorization": f"Bearer {t}"}) for _, t in tokens), folder
    )
    rounds = []
    statics: list[dict] = []
    interval = {"PRESENCE_WRITE_INTERVAL": str(args.presence_interval)}
    nginx = start_nginx(folder, args.nginx_workers) if args.nginx else None
    with (
        Server(args.server, args.workers, app=args.app, threads=args.threads, **interval) as server,
        contextlib.ExitStack() as stack,
    ):
        polled = server.url
        if args.front:
            polled = stack.enter_context(front_of(server.port, folder, args.nginx_workers))
        # Every device has polled once (as in a running fleet): its answer is cached.
        etags = etags_of(polled, tokens)
        poll = wrk_script(poll_requests(tokens, etags if args.conditional else None), folder)
        wrk(server.url, trivial, 3, args.connections)  # warm up both paths
        wrk(polled, poll, args.warmup, args.connections)
        for n in range(args.rounds):
            base = wrk(server.url, trivial, args.seconds, args.connections)
            hot = wrk(polled, poll, args.seconds, args.connections)
            rounds.append((base, hot))
            print(
                f"round {n + 1}: trivial {base['rps']:7.0f} req/s (p99 {base['p99']:.1f} ms),"
                f" poll {hot['rps']:7.0f} req/s (p99 {hot['p99']:.1f} ms),"
                f" ratio {hot['rps'] / base['rps']:.2f}, errors {base['errors']}/{hot['errors']}"
            )
            if nginx is not None:
                static = wrk(nginx[0], nginx[1], args.seconds, args.connections)
                statics.append(static)
                print(
                    f"         nginx 304 {static['rps']:7.0f} req/s (p99 {static['p99']:.1f} ms),"
                    f" poll/nginx {hot['rps'] / static['rps']:.3f}, errors {static['errors']}"
                )
        rss = server.rss_mib()
    if nginx is not None:
        nginx[2].stop()
    ratio = statistics.median(h["rps"] / b["rps"] for b, h in rounds)
    poll_rps = statistics.median(h["rps"] for _, h in rounds)
    print(
        f"\n{args.server} x{args.workers} ({args.app}{', behind nginx' if args.front else ''}),"
        f" {args.connections} connections"
        f"{', If-None-Match' if args.conditional else ''},"
        f" presence written every {args.presence_interval} s:"
        f" poll {poll_rps:.0f} req/s, trivial {statistics.median(b['rps'] for b, _ in rounds):.0f}"
        f" req/s, median ratio {ratio:.2f}; at a 5 s interval that carries"
        f" {poll_rps * 5:,.0f} devices; server RSS {rss:.0f} MiB"
    )
    if statics:
        ratios = [h["rps"] / s["rps"] for (_, h), s in zip(rounds, statics, strict=True)]
        print(
            f"nginx x{args.nginx_workers} 304 of a static file:"
            f" {statistics.median(s['rps'] for s in statics):.0f} req/s;"
            f" median poll/nginx {statistics.median(ratios):.3f}"
            f" (rounds {', '.join(f'{r:.3f}' for r in ratios)})"
        )


def latency(devices: int, revisions: int, args) -> dict:
    reset_database()
    env = environment()
    django_setup(env)
    started = time.perf_counter()
    ids = seed(devices, revisions)
    print(f"seeded {devices} devices, {devices * revisions} revisions in"
          f" {time.perf_counter() - started:.0f} s")  # fmt: skip
    tokens = tokens_for(ids, min(args.polled, devices))
    print(explain(ids[len(ids) // 2]))
    # The polled devices were seen a moment ago: no presence writes in the timings.
    from django.db import connections
    from django.utils import timezone

    from devices.models import Device

    Device.objects.filter(id__in=[i for i, _ in tokens]).update(last_seen=timezone.now())

    connections.close_all()
    folder = scratch("trailhub-wrk-")
    # A query string sends every poll to the database (the cache answers plain polls):
    # the same queries, which are what grows with the tables.
    poll = wrk_script(poll_requests(tokens, query="?limit=1"), folder)
    with Server(args.server, args.workers, PRESENCE_WRITE_INTERVAL="3600") as server:
        wrk(server.url, poll, 3, 4)
        runs = [wrk(server.url, poll, args.seconds, 4) for _ in range(args.rounds)]
    result = {key: statistics.median(r[key] for r in runs) for key in ("p50", "p99", "mean", "rps")}
    print(f"{devices} devices: p50 {result['p50']:.2f} ms, p99 {result['p99']:.2f} ms,"
          f" mean {result['mean']:.2f} ms, {result['rps']:.0f} req/s at 4 connections")  # fmt: skip
    return result


def scale(args) -> None:
    print(machine())
    small = latency(1_000, 10, args)
    # A fresh process state: the second seeding reuses the same Django setup.
    large = latency(100_000, 10, args)
    print(
        f"\nlatency ratio 100k/1k devices: p50 {large['p50'] / small['p50']:.2f},"
        f" mean {large['mean'] / small['mean']:.2f}, p99 {large['p99'] / small['p99']:.2f}"
    )


def main() -> None:
    args = parse_args()
    if args.scale:
        scale(args)
    else:
        throughput(args)


if __name__ == "__main__":
    main()
