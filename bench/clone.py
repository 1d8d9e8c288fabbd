"""``trail clone`` of 1 GiB in 100 objects, against curl fetching the same objects.

    .venv/bin/python bench/clone.py [--objects 100] [--object-mib 10] [--rounds 3]
                                    [--server gunicorn|uvicorn] [--tools] [--before DIR]

Seeds (PostgreSQL, Redis, filesystem objects, as deployed) a device whose
revision names ``--objects`` random objects, placed straight in the hub's
store; starts the hub (gunicorn, as deployed, or uvicorn; two workers) and times,
round by round, the wall-clock time and the CPU time (user + system) of:

* ``trail clone`` into an empty working copy with an empty object cache
  (download, sha256 check, cache, checkout), and
* curl fetching the same objects from their signed URLs into files, as many
  at a time as ``trail`` does (``--parallel-max``),
* with ``--tools``, the work of a clone done by C tools, one step after the other: the same
  curl, then a second copy of its files (``cp``) and their sha256
  (``openssl dgst``),
* with ``--before DIR``, the same clone by the ``trail/`` package of another
  checkout (``git archive <commit> trail | tar -x -C DIR``), to compare a
  change side by side.

Each run starts after ``sync`` (so that none pays for the writeback of the
pages another one dirtied) and after the files of the run before it are
removed; they take turns to go first.

Then it checks what a second clone and an unchanged ``trail post`` move:
the bytes the server's processes wrote and read (``/proc/<pid>/io``) while
each ran, which must be a few kilobytes of JSON, not objects.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import httpx
from common import ROOT, Server, django_setup, environment, machine, reset_database

from trail.cli.transfer import CONCURRENCY

PASSWORD = "correct horse battery staple"
SPEC = "pantavisor-service-system@1"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--objects", type=int, default=100)
    parser.add_argument("--object-mib", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--server", choices=("gunicorn", "uvicorn"), default="gunicorn")
    parser.add_argument("--tools", action="store_true", help="also time the C tools' clone")
    parser.add_argument(
        "--before",
        type=Path,
        metavar="DIR",
        help="also time the trail/ of another checkout, e.g. "
        "`git archive <commit> trail | tar -x -C DIR`",
    )
    return parser.parse_args()


def seed(objects_dir: Path, count: int, mib: int) -> tuple[str, list[str]]:
    """alice's device with a revision naming ``count`` objects of ``mib`` MiB; returns
    its id and the shas."""
    from django.contrib.auth import get_user_model

    from devices.models import Device
    from revisions import services
    from revisions.models import Blob, OwnerObject

    owner = get_user_model().objects.create_user("alice", "alice@example.com", PASSWORD)
    device = Device.objects.create(owner=owner, nick="big")
    state = {"#spec": SPEC}
    shas = []
    for n in range(count):
        data = os.urandom(mib * 2**20)
        sha = hashlib.sha256(data).hexdigest()
        (objects_dir / sha[:2]).mkdir(parents=True, exist_ok=True)
        (objects_dir / sha[:2] / sha).write_bytes(data)
        Blob.objects.create(sha256=sha, size=len(data))
        OwnerObject.objects.create(owner=owner, sha256=sha, size=len(data), kind="object")
        state[f"app{n:03d}/root.squashfs"] = sha
        shas.append(sha)
    trail = services.create_trail(device, {"#spec": SPEC})
    services.post_step(trail, state, commit_msg="1 GiB", author=owner)
    return device.id, shas


def trail(config: Path, hub: str, *args: str, cwd: Path, root: Path = ROOT) -> float:
    """Run ``trail`` (the one under ``root``); return the seconds it took."""
    env = {**os.environ, "TRAIL_CONFIG_DIR": str(config), "TRAIL_HUB": hub}
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "trail.cli", *args],
        cwd=cwd,
        env={**env, "PYTHONPATH": str(root)},
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        input=PASSWORD + "\n" if args[0] == "login" else None,
        text=True,
    )
    return time.perf_counter() - start


def timed(*commands: list[str]) -> float:
    start = time.perf_counter()
    for command in commands:
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def curl(urls: list[str], folder: Path) -> list[str]:
    """curl fetching ``urls`` into ``folder``, as many at a time as trail."""
    folder.mkdir()
    command = ["curl", "-sSf", "--no-progress-meter", "--parallel",
               "--parallel-max", str(CONCURRENCY)]  # fmt: skip
    for i, url in enumerate(urls):
        command += ["-o", str(folder / f"{i:03d}.bin"), url]
    return command


def curl_copy_hash(urls: list[str], folder: Path) -> float:
    """The work of a clone done by C tools, one step after the other: curl, then
    a second copy of the files (``cp``) and their sha256 (``openssl dgst``)."""
    files = [str(folder / f"{i:03d}.bin") for i in range(len(urls))]
    return timed(
        curl(urls, folder),
        ["cp", "-r", str(folder), str(folder) + "-copy"],
        ["openssl", "dgst", "-sha256", *files],
    )


def main() -> None:
    args = parse_args()
    folder = Path(tempfile.mkdtemp(prefix="trailhub-clone-", dir="/tmp"))
    try:
        reset_database()
        var_dir = folder / "var"
        django_setup(environment(TRAILHUB_VAR_DIR=str(var_dir)))
        started = time.perf_counter()
        device_id, shas = seed(var_dir / "objects", args.objects, args.object_mib)
        total_mib = args.objects * args.object_mib
        print(f"{machine()}; seeded {args.objects} objects ({total_mib} MiB)"
              f" in {time.perf_counter() - started:.0f} s")  # fmt: skip
        from django.db import connections

        connections.close_all()
        times: dict[str, list[float]] = {"clone": [], "curl": []}
        cpu: dict[str, list[float]] = {"clone": [], "curl": []}
        # One PostgreSQL connection per request thread would pile up under ASGI.
        env = {"TRAILHUB_VAR_DIR": str(var_dir), "DATABASE_CONN_MAX_AGE": "0"}
        with Server(args.server, 2, **env) as server:
            token = httpx.post(
                f"{server.url}/auth/login", json={"username": "alice", "password": PASSWORD}
            ).json()["token"]
            listed = httpx.get(
                f"{server.url}/trails/{device_id}/steps/1/objects",
                headers={"Authorization": f"Bearer {token}"},
            ).json()
            urls = [o["signed-geturl"] for o in listed]
            assert len(urls) == args.objects
            for n in range(args.rounds):
                work = folder / f"round{n}"
                work.mkdir()
                config = work / "config"
                trail(config, server.url, "login", "--username", "alice", "--password-stdin",
                      cwd=work)  # fmt: skip
                runs = {
                    "clone": partial(trail, config, server.url, "clone", device_id, "wc", cwd=work),
                    "curl": partial(timed, curl(urls, work / "curl")),
                }
                if args.tools:
                    runs["tools"] = partial(curl_copy_hash, urls, work / "tools")
                if args.before:
                    # In a folder of its own, with the same login and its own (empty) cache.
                    other = work / "before"
                    other.mkdir()
                    shutil.copytree(config, other / "config")
                    runs["before"] = partial(
                        trail, other / "config", server.url, "clone", device_id, "wc",
                        cwd=other, root=args.before.resolve(),
                    )  # fmt: skip
                # Each starts with no dirty pages left by another (whose writeback
                # would land on it), and they take turns to go first.
                # What each run writes (its files, and a clone's object cache).
                made = {
                    "clone": [work / "wc", config / "objects"],
                    "curl": [work / "curl"],
                    "tools": [work / "tools", work / "tools-copy"],
                    "before": [work / "before" / "wc", work / "before" / "config" / "objects"],
                }
                names = list(runs)
                for name in names[n % len(names) :] + names[: n % len(names)]:
                    os.sync()
                    spent = resource.getrusage(resource.RUSAGE_CHILDREN)
                    times.setdefault(name, []).append(runs[name]())
                    now = resource.getrusage(resource.RUSAGE_CHILDREN)
                    cpu.setdefault(name, []).append(
                        now.ru_utime - spent.ru_utime + now.ru_stime - spent.ru_stime
                    )
                    if n < args.rounds - 1 or name != "clone":
                        # Gone before the next run: the third run of a round, with two
                        # others' gigabytes still on disk, was 1.5-2 s slower than the
                        # first whichever tool it was (this VM's memory; cause unknown).
                        for path in made[name]:
                            shutil.rmtree(path, ignore_errors=True)
                print(
                    f"round {n + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in times.items())
                )
                if n < args.rounds - 1:
                    shutil.rmtree(work)
            # The last round's cache is warm: a second clone and an unchanged post.
            before = server.io_bytes()
            trail(config, server.url, "clone", device_id, "again", cwd=work)
            second = server.io_bytes() - before
            before = server.io_bytes()
            trail(config, server.url, "post", "-m", "nothing changed", cwd=work / "wc")
            post = server.io_bytes() - before
        clone, fetch = statistics.median(times["clone"]), statistics.median(times["curl"])
        print(
            f"\n{total_mib} MiB in {args.objects} objects: trail clone {clone:.2f} s"
            f" ({total_mib / clone:.0f} MiB/s), curl x{CONCURRENCY} {fetch:.2f} s"
            f" ({total_mib / fetch:.0f} MiB/s); ratio curl/clone {fetch / clone:.2f}"
        )
        print(", ".join(f"{k} {statistics.median(v):.2f}" for k, v in cpu.items())
              + " CPU seconds (user + system, medians)")  # fmt: skip
        if args.tools:
            tools = statistics.median(times["tools"])
            print(f"curl, then cp and openssl sha256 of its files: {tools:.2f} s;"
                  f" ratio curl/that {fetch / tools:.2f}")  # fmt: skip
        if args.before:
            before = statistics.median(times["before"])
            print(f"trail clone of {args.before}: {before:.2f} s ({total_mib / before:.0f} MiB/s);"
                  f" ratio curl/clone {fetch / before:.2f}")  # fmt: skip
        print(f"second clone: the server read+wrote {second / 1024:.0f} KiB;"
              f" unchanged post: {post / 1024:.0f} KiB")  # fmt: skip
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
