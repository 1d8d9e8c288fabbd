"""HTTP clients reading the bodies of objects: requests, http.client and httpx against curl.

    .venv/bin/python bench/clients.py [--rounds 3]

Seeds the device of bench/clone.py (100 random objects of 10 MiB), starts
the hub under gunicorn x2, and fetches every object from its signed URL into
a file, 4 at a time, hashing each with sha256 as it arrives (what a clone
must do), with each client in turn; then curl fetches the same (no hash).
Prints the wall-clock time and the CPU time (user + system) of each run.
This is how trail/bodies.py's download client was chosen
(docs/benchmarks.md, 6).
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import os
import resource
import shutil
import subprocess
import tempfile
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

import httpx
import requests
from clone import PASSWORD, curl, seed
from common import Server, django_setup, environment, machine, reset_database

READ = 1 << 20


def with_http_client(url: str, out: Path) -> str:
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port)
    target = f"{parts.path}?{parts.query}" if parts.query else parts.path  # /local-s3/<token>
    connection.request("GET", target, headers={"Accept-Encoding": "identity"})
    response = connection.getresponse()
    digest = hashlib.sha256()
    buffer = bytearray(READ)
    view = memoryview(buffer)
    with open(out, "wb") as f:
        while n := response.readinto(buffer):
            digest.update(view[:n])
            f.write(view[:n])
    connection.close()
    return digest.hexdigest()


def with_requests(url: str, out: Path) -> str:
    digest = hashlib.sha256()
    headers = {"Accept-Encoding": "identity"}
    with requests.get(url, stream=True, headers=headers) as response, open(out, "wb") as f:
        for chunk in response.iter_content(READ):
            digest.update(chunk)
            f.write(chunk)
    return digest.hexdigest()


def with_httpx(url: str, out: Path) -> str:
    digest = hashlib.sha256()
    headers = {"Accept-Encoding": "identity"}
    with httpx.stream("GET", url, headers=headers) as response, open(out, "wb") as f:
        for chunk in response.iter_raw(READ):
            digest.update(chunk)
            f.write(chunk)
    return digest.hexdigest()


def measured(run) -> tuple[float, float]:
    """Seconds and CPU seconds (this process and its children) of ``run()``."""
    who = (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    before = [resource.getrusage(w) for w in who]
    start = time.perf_counter()
    run()
    seconds = time.perf_counter() - start
    after = [resource.getrusage(w) for w in who]
    cpu = sum(
        a.ru_utime - b.ru_utime + a.ru_stime - b.ru_stime
        for a, b in zip(after, before, strict=True)
    )
    return seconds, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="trailhub-clients-", dir="/tmp"))
    try:
        reset_database()
        var_dir = folder / "var"
        django_setup(environment(TRAILHUB_VAR_DIR=str(var_dir)))
        device_id, shas = seed(var_dir / "objects", 100, 10)
        print(machine())
        from django.db import connections

        connections.close_all()
        env = {"TRAILHUB_VAR_DIR": str(var_dir), "DATABASE_CONN_MAX_AGE": "0"}
        with Server("gunicorn", 2, **env) as server:
            login = {"username": "alice", "password": PASSWORD}
            token = httpx.post(f"{server.url}/auth/login", json=login).json()["token"]
            listed = httpx.get(
                f"{server.url}/trails/{device_id}/steps/1/objects",
                headers={"Authorization": f"Bearer {token}"},
            ).json()
            urls = [o["signed-geturl"] for o in listed]
            clients = {
                "http.client": with_http_client,
                "requests": with_requests,
                "httpx": with_httpx,
            }
            for n in range(args.rounds):
                for name, client in clients.items():
                    out = folder / name
                    out.mkdir()

                    def fetch_all(client=client, out=out) -> None:
                        with ThreadPoolExecutor(4) as pool:
                            jobs = [(url, out / f"{i:03d}.bin") for i, url in enumerate(urls)]
                            got = list(pool.map(lambda job: client(*job), jobs))
                        assert sorted(got) == sorted(shas)

                    os.sync()
                    seconds, cpu = measured(fetch_all)
                    shutil.rmtree(out)
                    print(f"round {n + 1}: {name} {seconds:.2f} s, {cpu:.2f} CPU s", flush=True)
                os.sync()
                command = curl(urls, folder / "curl")
                seconds, cpu = measured(partial(subprocess.run, command, check=True))
                shutil.rmtree(folder / "curl")
                print(f"round {n + 1}: curl {seconds:.2f} s, {cpu:.2f} CPU s", flush=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
