"""Memory and growth: a large fleet polling for minutes, every server process's memory sampled.

    .venv/bin/python bench/memory.py                              # 100,000 devices, 10 minutes
    .venv/bin/python bench/memory.py --devices 10000 --minutes 2  # a quick look

Seeds ``--devices`` devices as bench/poll.py does (COPY; two revisions each, the newest
waiting for one device in ten), then starts the hub as deployed: gunicorn x4 serving
``trailhub.wsgi:application`` (the unchanged poll answered by trailhub/fastpoll.py) and
uvicorn x2 for ``/ws/`` (no client connects: it is sampled to show that a polling fleet
costs it nothing). wrk polls ``GET /trails/<id>/steps`` as each device in turn, with its
own token, cycling through all of them: the warm-up lasts until every device has been
seen (its ``last_seen`` written), then the load runs ``--minutes`` more while the
resident memory (VmRSS) of each server process is sampled every ``--every`` seconds.

Prints a table per process (RSS after the warm-up, at the end, the maximum, and the
slope of a least-squares line through the samples, MiB per minute), the database's
size per device (``pg_total_relation_size`` of each table before and after the
seeding, and after the load: presence writes update rows), Redis's (the memory of
this database's keys by kind, ``MEMORY USAGE``; and ``INFO memory`` before and after
the load, which counts every database of the shared server), and what each
process's memos (revisions/poll_memo.py, devices/presence.py, portal/auth.py) hold
per device, measured in this process with tracemalloc on the answers the hub stored.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import statistics
import sys
import threading
import time
import tracemalloc
from collections import Counter
from pathlib import Path

import httpx
from common import (
    REDIS_URL,
    Server,
    django_setup,
    environment,
    machine,
    reset_database,
    scratch,
    wrk,
    wrk_script,
)
from poll import poll_requests, seed, tokens_for

MIB = 1024 * 1024
ID = re.compile(r"[0-9a-f]{24}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--revisions", type=int, default=2, help="revisions per device")
    parser.add_argument("--minutes", type=float, default=10, help="the load after the warm-up")
    parser.add_argument("--every", type=float, default=20, help="seconds between samples")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--ws-workers", type=int, default=2, help="uvicorn workers (/ws/)")
    parser.add_argument("--connections", type=int, default=32)
    return parser.parse_args()


# -- sizes -------------------------------------------------------------------------------


def table_sizes() -> dict[str, int]:
    """``pg_total_relation_size`` of each table of the public schema (bytes)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, pg_total_relation_size(oid) FROM pg_class"
            " WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace"
        )
        return dict(cursor.fetchall())


def redis_client():
    import redis

    return redis.Redis.from_url(REDIS_URL)


def used_memory() -> int:
    """``INFO memory`` used_memory: the whole Redis server's, every database."""
    return int(redis_client().info("memory")["used_memory"])


def redis_keys() -> dict[str, tuple[int, int]]:
    """This database's keys by kind (the key with each device id as ``*``): how many, and
    their ``MEMORY USAGE`` in bytes."""
    client = redis_client()
    kinds: dict[str, list[int]] = {}
    batch: list[bytes] = []

    def measure() -> None:
        pipe = client.pipeline(transaction=False)
        for key in batch:
            pipe.memory_usage(key, samples=0)
        for key, size in zip(batch, pipe.execute(), strict=True):
            kind = kinds.setdefault(ID.sub("*", key.decode(errors="replace")), [0, 0])
            kind[0] += 1
            kind[1] += size or 0
        batch.clear()

    for key in client.scan_iter(count=5000):
        batch.append(key)
        if len(batch) >= 5000:
            measure()
    measure()
    return {kind: (count, size) for kind, (count, size) in kinds.items()}


def devices_seen_since(since) -> int:
    from devices.models import Device

    if since is None:
        return Device.objects.filter(last_seen__isnull=False).count()
    return Device.objects.filter(last_seen__gte=since).count()


# -- the servers' memory -------------------------------------------------------------------


def role(pid: int) -> str:
    """What the process is: the server and master or worker, from its command line."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except FileNotFoundError:
        return "gone"
    for name in ("gunicorn", "uvicorn"):
        if name in cmdline:
            return name
    if "multiprocessing" in cmdline:
        return "uvicorn"  # uvicorn's workers are multiprocessing's spawned children
    return cmdline.split(" ", 2)[1] if " " in cmdline else cmdline


def rss_kib(pid: int) -> int | None:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return None
    found = re.search(r"VmRSS:\s+(\d+)", text)
    return int(found.group(1)) if found else None


class Sampler:
    """VmRSS of every process of ``servers``, every ``every`` seconds, from :meth:`start`."""

    def __init__(self, servers: dict[str, Server], every: float) -> None:
        self.servers, self.every = servers, every
        self.samples: dict[tuple[str, int], list[tuple[float, float]]] = {}
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.t0 = time.monotonic()

    def sample(self) -> None:
        now = (time.monotonic() - self.t0) / 60
        for name, server in self.servers.items():
            for n, pid in enumerate(server.pids()):
                kib = rss_kib(pid)
                if kib is not None:
                    label = f"{name} {'master' if n == 0 else 'worker'}"
                    self.samples.setdefault((label, pid), []).append((now, kib / 1024))

    def _run(self) -> None:
        while not self.stopping.wait(self.every):
            self.sample()

    def start(self) -> None:
        self.t0 = time.monotonic()
        self.sample()
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join()
        self.sample()


def slope(points: list[tuple[float, float]]) -> float:
    """MiB per minute of the least-squares line through ``(minute, MiB)`` points."""
    if len(points) < 2:
        return 0.0
    return statistics.linear_regression(*zip(*points, strict=True)).slope


def per_minute(points: list[tuple[float, float]]) -> list[float]:
    """The first sample at or after each whole minute of ``(minute, MiB)`` points."""
    found: dict[int, float] = {}
    for minute, mib in points:
        found.setdefault(int(minute), mib)
    return [found[m] for m in sorted(found)]


def polls_by_source(url: str) -> dict[str, float]:
    """trailhub_device_polls_total of every worker (multiprocess metrics), by source."""
    text = httpx.get(url + "/metrics", timeout=10).text
    found = re.findall(r'trailhub_device_polls_total\{source="(\w+)"\} ([0-9.e+]+)', text)
    return {source: float(value) for source, value in found}


# -- the memos per device ------------------------------------------------------------------


def traced(build) -> int:
    """Bytes allocated by ``build()`` and still held after it (what it returns is kept)."""
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    kept = build()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    size = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    del kept
    return size


def fresh(text: str) -> str:
    """A copy of ``text`` in a string of its own, as a worker has it from a request."""
    return text.encode().decode()


def memo_costs(tokens: list[tuple[str, str]]) -> list[tuple[str, int, int]]:
    """``(memo, entries, bytes)`` of each per-process memo filled as a worker fills it:
    device ids and tokens in strings of their own (a worker reads them from requests),
    the answers read from the cache, where the hub stored them."""
    from django.core.cache import cache

    from devices import presence
    from portal import auth
    from revisions import poll_memo
    from revisions.pollcache import answer_key

    ids = [device_id for device_id, _ in tokens]
    costs = []

    def fill_presence():
        presence._noted.clear()
        for device_id in ids:
            presence._noted[fresh(device_id)] = time.monotonic()
        return presence._noted

    costs.append(("presence._noted (devices/presence.py)", len(ids), traced(fill_presence)))
    presence._noted.clear()

    memo = poll_memo.PollMemo(REDIS_URL, "bench-memory-unused")
    memo.listening.set()  # as when subscribed; no listener thread is started

    def fill_memo():
        for start in range(0, len(ids), 1000):
            keys = {answer_key(i): i for i in ids[start : start + 1000]}
            for key, (_, etag, body) in cache.get_many(list(keys)).items():
                memo.keep(fresh(keys[key]), 0, etag, body)
        return memo.entries

    size = traced(fill_memo)
    costs.append(("PollMemo.entries (revisions/poll_memo.py)", len(memo.entries), size))

    def fill_generations():
        for device_id in ids:
            memo.drop(fresh(device_id))
        return memo.generations

    # The slots are made with the memo: their list, and the counters the drops made.
    size = sys.getsizeof(memo.generations) + traced(fill_generations)
    costs.append(("PollMemo.generations (revisions/poll_memo.py)", len(memo.generations), size))
    auth._verified_claims.cache_clear()

    def fill_claims():
        for _, token in tokens:
            auth.decode_token(fresh(token))
        return auth._verified_claims

    size = traced(fill_claims)
    entries = auth._verified_claims.cache_info().currsize
    costs.append(("_verified_claims (portal/auth.py)", entries, size))
    auth._verified_claims.cache_clear()
    return costs


# -- the run -------------------------------------------------------------------------------


def main() -> None:
    args = parse_args()
    started = time.perf_counter()
    reset_database()
    env = environment()
    django_setup(env)
    empty = table_sizes()
    ids = seed(args.devices, args.revisions)
    seeded = table_sizes()
    tokens = tokens_for(ids, args.devices)
    print(f"{machine()}; seeded {args.devices:,} devices in {time.perf_counter() - started:.0f} s")
    folder = scratch("trailhub-memory-")
    poll = wrk_script(poll_requests(tokens), folder)
    metrics_dir = folder / "metrics"
    metrics_dir.mkdir()
    server_env = {"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir), "METRICS_ALLOW": "127.0.0.1"}
    memory_before = used_memory()
    from django.db import connections

    connections.close_all()
    with contextlib.ExitStack() as running:
        # Stopped even when one fails to start (a server that does not answer in time).
        web = Server("gunicorn", args.workers, **server_env)
        ws = Server("uvicorn", args.ws_workers, **server_env)
        for server in (web, ws):
            running.callback(server.stop)
            server.start()
        sampler = Sampler({"gunicorn": web, "uvicorn": ws}, args.every)
        sampler.start()
        running.callback(sampler.stopping.set)  # before the servers stop
        warm_started = time.monotonic()
        warmup_polls, seconds = 0.0, 30
        while devices_seen_since(None) < args.devices:
            found = wrk(web.url, poll, seconds, args.connections)
            warmup_polls += found["rps"] * seconds
            # wrk's two threads start half the devices apart (common.wrk_script): a run
            # of devices / rate seconds sees every one.
            seconds = max(15, min(600, int(1.3 * args.devices / max(found["rps"], 1))))
            if time.monotonic() - warm_started > 1800:
                raise SystemExit("the warm-up did not see every device in 30 minutes")
            time.sleep(3)  # presence flushes every 2 s
        warm_minutes = (time.monotonic() - warm_started) / 60
        from django.utils import timezone

        load_started = timezone.now()
        polls_before = polls_by_source(web.url)
        mark = (time.monotonic() - sampler.t0) / 60
        print(f"warm-up: every device seen after {warm_minutes:.1f} min"
              f" ({warmup_polls:,.0f} polls);"
              f" {args.minutes:g} min of load follow")  # fmt: skip
        load = wrk(web.url, poll, int(args.minutes * 60), args.connections)
        time.sleep(3)
        polls_after = polls_by_source(web.url)
        seen = devices_seen_since(load_started)
        sampler.stop()
    memory_after = used_memory()
    loaded = table_sizes()
    keys = redis_keys()

    print(
        f"\nload: {load['rps']:,.0f} polls/s over {args.minutes:g} min ({args.connections}"
        f" connections, p99 {load['p99']:.1f} ms, errors {load['errors']});"
        f" devices seen during it: {seen:,} of {args.devices:,}"
    )
    answered = {k: polls_after.get(k, 0) - polls_before.get(k, 0) for k in polls_after}
    total = sum(answered.values()) or 1
    print("polls answered from: " + ", ".join(
        f"{k} {v:,.0f} ({v / total:.0%})" for k, v in sorted(answered.items())))  # fmt: skip

    print(f"\nresident memory (VmRSS, MiB), sampled every {args.every:g} s; 'start' is the"
          f" first sample after the warm-up (minute {mark:.1f})")  # fmt: skip
    print(f"{'process':<18} {'pid':>7} {'first':>7} {'start':>7} {'end':>7} {'max':>7}"
          f" {'MiB/min':>8}")  # fmt: skip
    for (label, pid), points in sorted(sampler.samples.items()):
        after = [p for p in points if p[0] >= mark]
        if not after:
            continue
        print(
            f"{label:<18} {pid:>7} {points[0][1]:>7.1f} {after[0][1]:>7.1f} {after[-1][1]:>7.1f}"
            f" {max(mib for _, mib in after):>7.1f} {slope(after):>+8.3f}"
        )
    print("\neach worker's RSS (MiB) at each whole minute from the start of the warm-up")
    for (label, pid), points in sorted(sampler.samples.items()):
        if "worker" in label:
            print(f"{label:<18} {pid:>7} " + " ".join(f"{mib:.0f}" for mib in per_minute(points)))

    print(f"\ndatabase, bytes per device ({args.devices:,} devices, {args.revisions} revisions"
          f" each): pg_total_relation_size")  # fmt: skip
    print(f"{'table':<28} {'empty':>10} {'seeded':>12} {'after load':>12} {'per device':>10}"
          f" {'after load':>10}")  # fmt: skip
    for table in sorted(seeded, key=lambda t: -(loaded.get(t, 0) - empty.get(t, 0))):
        grown = seeded[table] - empty.get(table, 0)
        if grown <= 16384 and loaded.get(table, 0) - empty.get(table, 0) <= 16384:
            continue
        print(
            f"{table:<28} {empty.get(table, 0):>10,} {seeded[table]:>12,} {loaded[table]:>12,}"
            f" {grown / args.devices:>10,.0f} {(loaded[table] - empty.get(table, 0)) / args.devices:>10,.0f}"
        )  # fmt: skip
    total_seeded = sum(seeded.values()) - sum(empty.values())
    total_loaded = sum(loaded.values()) - sum(empty.values())
    print(f"{'all tables':<28} {sum(empty.values()):>10,} {sum(seeded.values()):>12,}"
          f" {sum(loaded.values()):>12,} {total_seeded / args.devices:>10,.0f}"
          f" {total_loaded / args.devices:>10,.0f}")  # fmt: skip

    print(f"\nRedis ({REDIS_URL}), after the load: keys by kind, MEMORY USAGE")
    kinds = Counter()
    for kind, (count, size) in sorted(keys.items(), key=lambda item: -item[1][1]):
        kinds[kind] = size
        if count >= 10 or size > 100_000:
            print(f"  {kind:<50} {count:>8,} keys {size:>12,} bytes"
                  f" {size / args.devices:>8,.0f} per device")  # fmt: skip
    print(f"  {'all keys':<50} {sum(c for c, _ in keys.values()):>8,} keys"
          f" {sum(kinds.values()):>12,} bytes {sum(kinds.values()) / args.devices:>8,.0f}"
          f" per device")  # fmt: skip
    print(f"  INFO used_memory (the whole server) before the load {memory_before / MIB:.1f} MiB,"
          f" after {memory_after / MIB:.1f} MiB:"
          f" {(memory_after - memory_before) / args.devices:,.0f} bytes per device")  # fmt: skip

    print(
        f"\nper-process memos with {args.devices:,} devices (each worker fills them as it"
        " answers; measured here with tracemalloc on the hub's stored answers and tokens)"
    )
    from portal import auth
    from revisions import poll_memo

    print(
        f"  (PollMemo keeps at most {poll_memo.MAX_ENTRIES:,}; _verified_claims at most"
        f" {auth._verified_claims.cache_parameters()['maxsize']:,})"
    )
    for name, entries, size in memo_costs(tokens):
        per = size / entries if entries else 0
        print(f"  {name:<46} {entries:>8,} entries {size / MIB:>7.1f} MiB {per:>6,.0f} B each")


if __name__ == "__main__":
    main()
