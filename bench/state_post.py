"""Posting a big state: ``POST /trails/<id>/steps`` with 2,000 keys naming 500 objects.

    .venv/bin/python bench/state_post.py [--runs 15]

Seeds (PostgreSQL and Redis, as deployed) an owner who has 500 objects and
a device with a factory revision, then times the post in-process through
Django's test client (parsing, validation, state-sha, the object check under
row locks, the inserts; no network): the server's time. Then it times the
same post, and ``trail.state.validate_state`` alone, for states of 250 to
8,000 keys, and prints the time per key, which is flat when validation is
linear in the state's size.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import time

from common import django_setup, environment, machine, reset_database

SPEC = "pantavisor-service-system@1"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    return parser.parse_args()


def sha(n: int) -> str:
    return hashlib.sha256(f"object {n}".encode()).hexdigest()


def state_of(keys: int, objects: int) -> dict:
    """A state of ``keys`` keys, ``objects`` of which name an object (the rest inline JSON)."""
    state = {"#spec": SPEC}
    for n in range(objects):
        state[f"platform{n % 50:02d}/lib/blob{n:05d}.bin"] = sha(n)
    for n in range(keys - objects - 1):
        state[f"_config/platform{n % 50:02d}/etc/conf{n:05d}.json"] = {"n": n, "on": True}
    return state


def seed(objects: int):
    from django.contrib.auth import get_user_model

    from devices.models import Device
    from revisions import services
    from revisions.models import Blob, OwnerObject

    owner = get_user_model().objects.create_user("poster", "p@example.com", "x" * 20)
    device = Device.objects.create(owner=owner, nick="big-state")
    Blob.objects.bulk_create([Blob(sha256=sha(n), size=1000) for n in range(objects)])
    OwnerObject.objects.bulk_create(
        [OwnerObject(owner=owner, sha256=sha(n), size=1000, kind="object") for n in range(objects)]
    )
    services.create_trail(device, {"#spec": SPEC})
    return owner, device


def timed(call, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    args = parse_args()
    reset_database()
    django_setup(environment())
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections
    from rest_framework.test import APIClient

    from portal.auth import issue_token
    from trail.state import validate_state

    # One connection across requests, as a deployment keeps it.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    owner, device = seed(8_000)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_token(owner)}")
    print(machine())

    def post(state: dict) -> None:
        body = json.dumps({"rev": -1, "commit-msg": "big", "state": state})
        answer = client.post(f"/trails/{device.id}/steps", body, content_type="application/json")
        assert answer.status_code == 200, answer.content[:300]

    big = state_of(2_000, 500)
    post(big)  # warm up
    median = timed(lambda: post(big), args.runs)
    print(f"POST of 2,000 keys naming 500 objects: median {median:.1f} ms over {args.runs} runs")
    print(
        f"\n{'keys':>6} {'objects':>8} {'post ms':>8} {'µs/key':>7} {'validate ms':>12} {'µs/key':>7}"
    )
    for keys in (250, 500, 1_000, 2_000, 4_000, 8_000):
        state = state_of(keys, keys // 4)
        post_ms = timed(lambda state=state: post(state), max(3, args.runs // 3))
        check_ms = timed(lambda state=state: validate_state(state), args.runs)
        print(
            f"{keys:6d} {keys // 4:8d} {post_ms:8.1f} {post_ms * 1000 / keys:7.1f}"
            f" {check_ms:12.2f} {check_ms * 1000 / keys:7.2f}"
        )


if __name__ == "__main__":
    main()
