"""Objects through the hub: a 1 GiB download against nginx, a verified upload against sha256sum.

    .venv/bin/python bench/objects.py [--size-mib 1024] [--small-mib 64] [--rounds 3]

Makes a file of random bytes under /tmp, starts the hub as deployed
(PostgreSQL, Redis, filesystem objects, one ``--server`` worker so that
its memory is the object path's), uploads the file with curl to the signed URL
(the hub counts and hashes it and keeps it only if it matches) and times that
against ``sha256sum`` of the same file; then times curl downloading it from
the hub against curl downloading it from nginx serving the stored file from
disk. Rounds alternate, medians are printed. The same is done for a
``--small-mib`` object on a fresh server, and both servers' peak memory
(VmHWM) is printed: it must not grow with the object.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
from common import Nginx, Server, django_setup, environment, machine, reset_database

PASSWORD = "correct horse battery staple"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--small-mib", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--server", default="gunicorn", choices=("gunicorn", "uvicorn", "granian"))
    return parser.parse_args()


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def make_file(folder: Path, mib: int) -> tuple[Path, str]:
    path = folder / f"object-{mib}m.bin"
    subprocess.run(["head", "-c", f"{mib}M", "/dev/urandom"], stdout=path.open("wb"), check=True)
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return path, digest.hexdigest()


def peak_mib(server: Server) -> float:
    """The largest peak resident memory (VmHWM) among the server's processes."""
    peaks = []
    for pid in server.pids():
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except FileNotFoundError:
            continue
        line = next(line for line in status.splitlines() if line.startswith("VmHWM"))
        peaks.append(int(line.split()[1]) / 1024)
    return max(peaks)


def measure(path: Path, sha: str, rounds: int, var_dir: str, server_kind: str) -> dict:
    from django.contrib.auth import get_user_model

    from revisions.models import Blob, OwnerObject

    user = get_user_model().objects.filter(username="alice").first()
    if user is None:
        get_user_model().objects.create_user("alice", "alice@example.com", PASSWORD)
    results: dict[str, list[float]] = {"sha256sum": [], "upload": [], "hub": [], "nginx": []}
    with Server(server_kind, 1, TRAILHUB_VAR_DIR=var_dir) as server:
        token = httpx.post(
            f"{server.url}/auth/login", json={"username": "alice", "password": PASSWORD}
        ).json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        body = {"objectname": path.name, "size": str(path.stat().st_size), "sha256sum": sha}
        stored = Path(var_dir) / "objects" / sha[:2] / sha
        nginx = Nginx(Path(var_dir) / "objects", Path(var_dir))
        try:
            for _ in range(rounds):
                # Forget the object, so that each round uploads it again.
                OwnerObject.objects.filter(sha256=sha).delete()
                Blob.objects.filter(sha256=sha).delete()
                stored.unlink(missing_ok=True)
                results["sha256sum"].append(timed(["sha256sum", str(path)]))
                put_url = httpx.post(f"{server.url}/objects", json=body, headers=auth).json()[
                    "signed-puturl"
                ]
                results["upload"].append(
                    timed(["curl", "-sSf", "-o", "/dev/null", "-T", str(path), put_url])
                )
                assert stored.stat().st_size == path.stat().st_size
                get_url = httpx.get(f"{server.url}/objects/{sha}", headers=auth).json()[
                    "signed-geturl"
                ]
                results["hub"].append(timed(["curl", "-sSf", "-o", "/dev/null", get_url]))
                nginx_url = f"http://127.0.0.1:{nginx.port}/{sha[:2]}/{sha}"
                results["nginx"].append(timed(["curl", "-sSf", "-o", "/dev/null", nginx_url]))
        finally:
            nginx.stop()
        peak = peak_mib(server)
    medians = {key: statistics.median(values) for key, values in results.items()}
    medians["peak"] = peak
    return medians


def main() -> None:
    args = parse_args()
    folder = Path(tempfile.mkdtemp(prefix="trailhub-objects-", dir="/tmp"))
    free = shutil.disk_usage(folder).free / 2**30
    if free < 3 * args.size_mib / 1024 + 1:
        raise SystemExit(f"only {free:.1f} GiB free under /tmp")
    try:
        reset_database()
        var_dir = str(folder / "var")
        django_setup(environment(TRAILHUB_VAR_DIR=var_dir))
        print(f"{machine()}; the hub under {args.server}, one worker")
        rows = []
        for mib in (args.small_mib, args.size_mib):
            path, sha = make_file(folder, mib)
            result = measure(path, sha, args.rounds, var_dir, args.server)
            rows.append((mib, result))
            path.unlink()
            (Path(var_dir) / "objects" / sha[:2] / sha).unlink(missing_ok=True)
        print(
            f"\n{'MiB':>6} {'sha256sum s':>11} {'upload s':>9} {'ratio':>6}"
            f" {'nginx s':>8} {'hub s':>7} {'ratio':>6} {'peak RSS MiB':>13}"
        )
        for mib, r in rows:
            print(
                f"{mib:6d} {r['sha256sum']:11.2f} {r['upload']:9.2f}"
                f" {r['sha256sum'] / r['upload']:6.2f} {r['nginx']:8.2f} {r['hub']:7.2f}"
                f" {r['nginx'] / r['hub']:6.2f} {r['peak']:13.0f}"
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
