"""Benchmark the community pages against a trivial Django view, in one run.

    .venv/bin/python bench/pages.py [--devices 10000] [--revisions 1000] [--fleet 10000] [--runs 30]

Seeds a throwaway database (embedded SQLite in a temporary TRAILHUB_VAR_DIR,
or PostgreSQL when DATABASE_URL is set: use a database of its own) with
``--devices`` public devices, stars and forks, one device with
``--revisions`` revisions, and one person's fleet of ``--fleet`` private
devices (for the dashboard), then times each page in-process with Django's
test client (middleware, queries and templates included; no network) and
prints the median, the 95th percentile and the ratio to a view that returns
"ok". Ratios measured side by side are what to compare across machines.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--revisions", type=int, default=1_000)
    parser.add_argument("--fleet", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=30)
    return parser.parse_args()


def setup(var_dir: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trailhub.settings")
    os.environ["TRAILHUB_VAR_DIR"] = var_dir
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def state_for(n: int, platforms: int = 4) -> dict:
    """A state of realistic size (~40 keys) that changes a little with ``n``."""
    state = {"#spec": "pantavisor-service-system@1", "bsp/run.json": {"addons": [], "n": n}}
    for name in ("kernel.img", "modules.squashfs", "firmware.squashfs", "pantavisor"):
        state[f"bsp/{name}"] = f"{hash(('bsp', name)) & (2**256 - 1):064x}"
    for p in range(platforms):
        app = ["cloudflare", "awconnect", "pv-avahi", "pvr-sdk", "nginx", "mqtt"][p % 6]
        state[f"{app}/run.json"] = {"name": app, "root-volume": "root.squashfs", "rev": n}
        state[f"{app}/root.squashfs"] = f"{(n * 31 + p) & (2**256 - 1):064x}"
        state[f"{app}/lxc.container.conf"] = f"{(p + 7) * 1_000_003:064x}"
        for c in range(5):
            state[f"_config/{app}/etc/file{c}.conf"] = f"{(p * 10 + c + 1) * 97:064x}"
    state["device.json"] = {"groups": [{"name": "platforms"}], "n": n}
    return state


def seed(devices: int, revisions: int) -> dict:
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from community.models import Fork, Star
    from devices.models import Device
    from portal.ids import new_id
    from revisions.models import Step, Trail
    from trail.canonical import state_sha

    rng = random.Random(7)
    User = get_user_model()
    users = [
        User(id=new_id(), username=f"user{i:03d}", email=f"u{i}@example.com") for i in range(200)
    ]
    for user in users:
        user.set_unusable_password()
    User.objects.bulk_create(users, batch_size=500)
    now = timezone.now()
    words = ["kiosk", "gateway", "camera", "router", "sensor", "display", "robot", "printer"]
    rows = []
    for i in range(devices):
        rows.append(
            Device(
                id=new_id(),
                nick=f"{words[i % len(words)]}-{i:05d}",
                owner=users[i % len(users)],
                public=True,
                description=f"A {words[(i * 7) % len(words)]} running cloudflare and awconnect #{i}",
                last_seen=now,
            )
        )
    Device.objects.bulk_create(rows, batch_size=1000)
    Trail.objects.bulk_create(
        [Trail(device=d, head_rev=0, last_touched=now) for d in rows], batch_size=1000
    )
    small = state_for(0)
    sha = state_sha(small)
    Step.objects.bulk_create(
        [
            Step(trail_id=d.id, rev=0, state=small, state_sha=sha, status="DONE", progress=100)
            for d in rows
        ],
        batch_size=500,
    )
    stars = {(rng.randrange(len(users)), rng.randrange(devices)) for _ in range(30_000)}
    Star.objects.bulk_create(
        [Star(user=users[u], device=rows[d]) for u, d in stars], batch_size=1000
    )
    Fork.objects.bulk_create(
        [
            Fork(
                device=rows[rng.randrange(devices)],
                rev=0,
                source_device=rows[s],
                source_rev=0,
                source_label=f"{rows[s].owner.username}/{rows[s].nick}",
            )
            for s in (rng.randrange(devices) for _ in range(2_000))
        ],
        batch_size=1000,
    )

    owner = users[0]
    big = Device.objects.create(owner=owner, nick="big", public=True, description="1k revisions")
    trail = Trail.objects.create(device=big, head_rev=revisions - 1, last_touched=now)
    steps = []
    for rev in range(revisions):
        state = state_for(rev)
        status = "DONE" if rev % 10 else "ERROR"
        steps.append(
            Step(
                trail=trail,
                rev=rev,
                commit_msg=f"change {rev}",
                state=state,
                state_sha=state_sha(state),
                author=owner,
                status=status,
                progress=100,
            )
        )
    Step.objects.bulk_create(steps, batch_size=200)
    return {"owner": owner, "big": big, "revisions": revisions}


def seed_fleet(count: int) -> dict:
    """One person's ``count`` private devices, as a fleet operator's dashboard shows them.

    Their newest revision is DONE, or ERROR for one in 20, DOWNLOADING for one
    in 50, none for one in 100; half were seen a moment ago, the others a day
    ago; each has a device-meta with its architecture, board and serial; ten
    packs are led by the first ten, and one device in ten (all seen a moment
    ago) follows one of the packs, a hundred each.
    """
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from devices.models import Device
    from packs.models import Pack, PackMember
    from portal.ids import new_id
    from revisions.models import Step, Trail
    from trail.canonical import state_sha

    person = get_user_model()(id=new_id(), username="fleet", email="fleet@example.com")
    person.set_unusable_password()
    person.save()
    now = timezone.now()
    arches = ["arm64", "armv7", "x86_64"]
    rows = [
        Device(
            id=new_id(),
            nick=f"unit-{i:05d}",
            owner=person,
            public=False,
            last_seen=now if i % 2 else now - dt.timedelta(days=1),
            device_meta={"arch": arches[i % 3], "board": f"board-{i % 7}", "serial": f"S{i:07d}"},
        )
        for i in range(count)
    ]
    Device.objects.bulk_create(rows, batch_size=1000)
    tracked = [d for i, d in enumerate(rows) if i % 100 != 99]
    later = {i for i in range(count) if i % 20 == 0 or i % 50 == 1}
    Trail.objects.bulk_create(
        [
            Trail(device=d, head_rev=1 if i in later else 0, last_touched=now)
            for i, d in enumerate(rows)
            if i % 100 != 99
        ],
        batch_size=1000,
    )
    small = state_for(0)
    sha = state_sha(small)
    steps = [
        Step(trail_id=d.id, rev=0, state=small, state_sha=sha, status="DONE", progress=100)
        for d in tracked
    ]
    for i in sorted(later):
        status, progress = ("ERROR", 100) if i % 20 == 0 else ("DOWNLOADING", 40)
        steps.append(
            Step(
                trail_id=rows[i].id,
                rev=1,
                state=small,
                state_sha=sha,
                status=status,
                progress=progress,
            )
        )
    Step.objects.bulk_create(steps, batch_size=500)
    leaders = rows[:10]
    packs = [
        Pack(id=new_id(), owner=person, nick=f"pack-{n}", leader=leader)
        for n, leader in enumerate(leaders)
    ]
    Pack.objects.bulk_create(packs)
    PackMember.objects.bulk_create(
        [
            PackMember(pack=packs[(i // 10) % 10], device=d)
            for i, d in enumerate(rows)
            if i >= 10 and i % 10 == 5
        ],
        batch_size=1000,
    )
    return {"fleet": person, "fleet_pack": packs[3].id, "fleet_size": count}


def trivial(request):
    from django.http import HttpResponse

    return HttpResponse("ok")


urlpatterns: list = []


def time_pages(seeded: dict, runs: int) -> list[tuple[str, float, float]]:
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections, connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings
    from django.urls import include, path

    global urlpatterns
    urlpatterns = [path("__trivial__/", trivial), path("", include("trailhub.urls"))]
    # Keep one connection across requests, as a deployment does (CONN_MAX_AGE):
    # what is timed is the page's queries and rendering, not reconnecting.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    owner, last = seeded["owner"].username, seeded["revisions"] - 1
    fleet, pack = f"{seeded['fleet_size']:,}", seeded["fleet_pack"]
    pages = [
        ("trivial view", "/__trivial__/", False),
        ("home", "/", False),
        ("explore (recent)", "/explore/", False),
        ("explore ?sort=stars", "/explore/?sort=stars", False),
        ("explore ?sort=forks", "/explore/?sort=forks", False),
        ("explore ?q=gateway", "/explore/?q=gateway", False),
        ("explore page 200", "/explore/?page=200", False),
        ("profile (50 devices)", f"/u/{owner}/", False),
        ("dashboard (51 devices)", "/dashboard/", True),
        (f"dashboard ({fleet} devices)", "/dashboard/", "fleet"),
        ("dashboard ?status=ERROR", "/dashboard/?status=ERROR", "fleet"),
        ("dashboard ?q=S00012 (device-meta)", "/dashboard/?q=S00012", "fleet"),
        ("dashboard online, in a pack", f"/dashboard/?presence=online&pack={pack}", "fleet"),
        ("dashboard page 150 by last seen", "/dashboard/?sort=seen&page=150", "fleet"),
        ("device overview (1k revs)", f"/u/{owner}/big/", False),
        ("revision history (1k revs)", f"/u/{owner}/big/revisions/", False),
        ("revision view", f"/u/{owner}/big/revisions/{last}/", False),
        ("diff", f"/u/{owner}/big/diff/?a={last - 1}&b={last}", False),
    ]
    results = []
    with override_settings(ROOT_URLCONF=__name__, DEBUG=False):
        anonymous, member, operator = Client(), Client(), Client()
        member.force_login(seeded["owner"])
        operator.force_login(seeded["fleet"])
        for name, url, logged_in in pages:
            client = operator if logged_in == "fleet" else member if logged_in else anonymous
            with CaptureQueriesContext(connection) as queries:
                response = client.get(url)
            count = len(queries.captured_queries)  # read now: the next request resets the log
            assert response.status_code == 200, (url, response.status_code)
            for _ in range(3):
                client.get(url)
            times = []
            for _ in range(runs):
                start = time.perf_counter()
                client.get(url)
                times.append((time.perf_counter() - start) * 1000)
            times.sort()
            median = statistics.median(times)
            p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
            results.append((name, median, p95, count))
    return results


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="trailhub-bench-") as var_dir:
        started = time.perf_counter()
        setup(var_dir)
        from django.db import connection

        seeded = {**seed(args.devices, args.revisions), **seed_fleet(args.fleet)}
        print(
            f"seeded {args.devices} devices, one with {args.revisions} revisions and a fleet"
            f" of {args.fleet} on {connection.vendor} in {time.perf_counter() - started:.0f} s"
        )
        results = time_pages(seeded, args.runs)
    base = results[0][1]
    print(f"\n{'page':36} {'median ms':>10} {'p95 ms':>8} {'x trivial':>10} {'queries':>8}")
    for name, median, p95, queries in results:
        print(f"{name:36} {median:10.1f} {p95:8.1f} {median / base:10.1f} {queries:8d}")


if __name__ == "__main__":
    main()
