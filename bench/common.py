"""What the benchmark scripts share: the database, a server subprocess, wrk.

The scripts run Trailhub as a deployment does (PostgreSQL, Redis, a real
server with its workers) on a database of their own: ``trailhub_bench`` and
Redis db 9 unless ``DATABASE_URL``/``REDIS_URL`` say otherwise. Each script
prints its figures; nothing is written into the repository.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from testsupport import live  # noqa: E402

DATABASE_URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/trailhub_bench")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/9")
SECRET_KEY = "bench-only-secret-key-bench-only-secret-key-0123"


def scratch(prefix: str) -> Path:
    """A temporary folder, removed when the script ends."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, folder, True)
    return folder


def environment(**extra: str) -> dict[str, str]:
    var_dir = extra.pop("TRAILHUB_VAR_DIR", None) or str(scratch("trailhub-bench-"))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.site",
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "SECRET_KEY": SECRET_KEY,
        "TRAILHUB_VAR_DIR": var_dir,
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    env.update(extra)
    return env


def django_setup(env: dict[str, str]) -> None:
    """Set this process up as the server is (same settings, database and Redis)."""
    os.environ.update(env)
    import django

    django.setup()


def reset_database() -> None:
    """Drop and create the benchmark database, then migrate it."""
    name = DATABASE_URL.rsplit("/", 1)[1]
    admin = DATABASE_URL.rsplit("/", 1)[0] + "/postgres"
    for sql in (f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", f"CREATE DATABASE {name}"):
        subprocess.run(["psql", admin, "-qc", sql], check=True, capture_output=True)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
        cwd=ROOT,
        env=environment(),
        check=True,
    )
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()


#: The WSGI applications a benchmark may serve: Trailhub's entry point (the unchanged
#: device poll answered in front of Django, trailhub/fastpoll.py) or Django's handler alone.
WSGI_APPS = {"fast": "trailhub.wsgi:application", "django": "bench.plainwsgi:application"}


class Server(live.Server):
    """Trailhub under ``uvicorn`` (ASGI), ``gunicorn`` (WSGI) or ``granian`` (its WSGI
    interface) with ``workers`` processes, on the benchmark's database
    (:func:`environment`); ``app`` is a key of :data:`WSGI_APPS`."""

    grace = 15

    def __init__(
        self,
        kind: str = "uvicorn",
        workers: int = 2,
        preexec_fn=None,
        app: str = "fast",
        threads: int | None = None,
        **env,
    ) -> None:
        """``threads``: granian's blocking threads per worker (its own default when None)."""
        args = ["--no-access-log"] if kind == "uvicorn" else []
        if kind == "granian" and threads:
            args = ["--blocking-threads", str(threads)]
        super().__init__(environment(**env), kind, workers, args, preexec_fn=preexec_fn)
        self.app = WSGI_APPS[app]

    def command(self) -> list[str]:
        command = super().command()
        return [self.app if part == "trailhub.wsgi:application" else part for part in command]

    def answers(self) -> bool:
        return httpx.get(self.url + "/__trivial__/", timeout=2).status_code == 200

    def pids(self) -> list[int]:
        """The server's processes (the master and its workers)."""
        out = subprocess.run(
            ["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True
        ).stdout
        return [self.process.pid, *map(int, out.split())]

    def _proc(self, name: str) -> list[str]:
        """``/proc/<pid>/<name>`` of each of the server's processes still running."""
        texts = []
        for pid in self.pids():
            try:
                texts.append(Path(f"/proc/{pid}/{name}").read_text())
            except FileNotFoundError:
                continue
        return texts

    def rss_mib(self) -> float:
        """Resident memory of all the server's processes, in MiB."""
        kib = (int(re.search(r"VmRSS:\s+(\d+)", text).group(1)) for text in self._proc("status"))
        return sum(kib) / 1024

    def io_bytes(self) -> int:
        """Bytes the server's processes have read and written so far (files and sockets)."""
        total = 0
        for text in self._proc("io"):
            fields = dict(line.split(": ") for line in text.splitlines())
            total += int(fields["rchar"]) + int(fields["wchar"])
        return total


class Nginx:
    """nginx serving a folder on a free port (sendfile, no logs), ``workers`` processes."""

    def __init__(self, root: Path, folder: Path, workers: int = 1) -> None:
        self.port = live.free_port()
        self.prefix = folder / f"nginx-{self.port}"
        self.prefix.mkdir()
        conf = self.prefix / "nginx.conf"
        conf.write_text(
            f"""user root; worker_processes {workers}; daemon off; pid {self.prefix}/nginx.pid;
error_log {self.prefix}/error.log;
events {{ worker_connections 1024; }}
http {{ sendfile on; access_log off; default_type application/octet-stream;
  server {{ listen 127.0.0.1:{self.port}; root {root}; }} }}
"""
        )
        self.process = subprocess.Popen(["nginx", "-c", str(conf), "-p", str(self.prefix)])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{self.port}/", timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("nginx did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait()


#: Requests per function of a wrk script (:func:`wrk_script`).
CHUNK = 10_000


def wrk_script(requests: Iterable[tuple[str, dict[str, str]]], folder: Path) -> Path:
    """A wrk Lua script that cycles through ``(path, headers)`` requests."""
    lines = ["local reqs = {}"]
    for n, (path, headers) in enumerate(requests):
        # LuaJIT allows 65,536 constants per function (each request has its own):
        # the requests are added by functions of CHUNK each.
        if n % CHUNK == 0:
            lines.append(("end; add() end\n" if n else "") + "do local add = function()")
        # wrk.format adds no Host when called as the script loads; HTTP/1.1 needs one
        # (nginx refuses a request without it).
        headers = {"Host": "127.0.0.1", **headers}
        pairs = ", ".join(f'["{k}"] = "{v}"' for k, v in headers.items())
        lines.append(f'reqs[#reqs + 1] = wrk.format("GET", "{path}", {{{pairs}}})')
    if len(lines) > 1:
        lines.append("end; add() end")
    lines += [
        # wrk runs two threads (wrk() below), each with its own Lua state and the same
        # unseeded math.random: they start half the requests apart, from a place chosen
        # anew each run, so that a run of len(requests) / 2 requests sees every one.
        "local i, started = 0, 0",
        "setup = function(thread)",
        "  if started == 0 then math.randomseed(os.time()); first = math.random(#reqs) end",
        "  thread:set('start', (first + started * math.floor(#reqs / 2)) % #reqs)",
        "  started = started + 1",
        "end",
        "init = function(args) i = start end",
        "request = function() i = i % #reqs + 1; return reqs[i] end",
        "done = function(summary, latency, requests)",
        '  io.write(string.format("STATS %d %d %d %d %d %d\\n", summary.requests,'
        " summary.errors.status + summary.errors.connect + summary.errors.read"
        " + summary.errors.write + summary.errors.timeout,"
        " latency:percentile(50), latency:percentile(99), latency.mean, summary.duration))",
        "end",
    ]
    path = folder / f"wrk-{len(os.listdir(folder))}.lua"
    path.write_text("\n".join(lines) + "\n")
    return path


def wrk(url: str, script: Path, seconds: int = 10, connections: int = 32) -> dict:
    """Run wrk; return requests per second, errors and latencies (ms)."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install wrk")
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = re.search(r"STATS (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)", out)
    requests, errors, p50, p99, mean, duration = map(int, found.groups())
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": requests / (duration / 1e6),
        "errors": errors + (int(non2xx.group(1)) if non2xx else 0),
        "p50": p50 / 1000,
        "p99": p99 / 1000,
        "mean": mean / 1000,
    }


def machine() -> str:
    cpus = os.cpu_count()
    load = os.getloadavg()[0]
    return f"{cpus} cores, load average {load:.1f} at the start"
