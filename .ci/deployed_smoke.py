"""The hub as docs/deployment.md deploys it, proven process by process.

Run by `.ci/deployed-smoke.sh` with the Python of a virtualenv that holds
`requirements.txt` alone (no test or lint tools), so that a runtime
dependency that only the dev requirements bring in fails here, as it would
for a user. It uses nothing but the standard library and the runtime set.

What runs, each as its own process on a fresh PostgreSQL database and a
Redis database of its own: gunicorn (pages and the API), granian (the
devices' polls), uvicorn (the WebSockets), one Celery worker and one Celery
beat, and nginx in front of them with deploy/nginx.conf, the site file
docs/deployment.md gives (only the ports replaced). Everything after the
demo account is done through nginx over HTTP and WebSocket, as a user and
devices would:

1. three devices register, are claimed, log in and post factory states;
2. a pack: one leader, two followers; one follower holds the device
   WebSocket on uvicorn;
3. a revision posted to the leader, the leader reports DONE;
4. the Celery worker delivers it: both followers have revision 1 and the
   one on the WebSocket is told so;
5. a follower polls as a device: 200, then 304 for its ETag, and granian's
   access log, not gunicorn's, has those polls;
6. beat queues its periodic sweep, and the worker runs it.

Steps 1 to 4 are trailhub/tests/rollout_flow.py, which the test of `make run`
with a broker (trailhub/tests/test_run.py) drives as well.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import httpx
import psycopg

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from testsupport import nginx  # noqa: E402  (deploy/nginx.conf on this run's ports)
from trailhub.tests.rollout_flow import deliver_rollout  # noqa: E402  (the driver trailhub/tests/test_run.py uses too)

BIN = Path(sys.executable).parent
PG = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"


def free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


#: The server processes started so far; a wait fails at once when one of them dies.
RUNNING: list[Process] = []


def wait_for(what: str, check, timeout: float = 60, every: float = 0.25):
    deadline = time.monotonic() + timeout
    while True:
        for process in RUNNING:
            process.check_alive()
        try:
            result = check()
        except (httpx.TransportError, OSError):
            result = None
        if result:
            return result
        if time.monotonic() > deadline:
            raise SystemExit(f"FAILED: timed out waiting for {what}")
        time.sleep(every)


class Process:
    """A server process in its own process group, its output in a log file."""

    def __init__(self, name: str, argv: list[str], env: dict, logs: Path) -> None:
        self.name = name
        self.log = logs / f"{name}.log"
        with open(self.log, "wb") as out:
            self.popen = subprocess.Popen(
                argv, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def check_alive(self) -> None:
        if self.popen.poll() is not None:
            raise SystemExit(f"FAILED: {self.name} exited\n{self.text()[-4000:]}")

    def stop(self) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(10)


def manage(env: dict, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True
    )
    if done.returncode:
        raise SystemExit(f"FAILED: manage.py {' '.join(args)}\n{done.stderr[-4000:]}")
    return done.stdout


def polled_by_granian(api: httpx.Client, device: dict, logs: dict[str, Process]) -> None:
    """The device's poll through nginx: 200, then 304 twice for its ETag (the second from
    trailhub/fastpoll.py), all in granian's access log and none in gunicorn's."""
    path = f"/trails/{device['id']}/steps"
    auth = {"Authorization": f"Bearer {device['token']}"}
    first = api.get(path, headers=auth)
    if first.status_code != 200 or not first.headers.get("ETag"):
        raise SystemExit(f"FAILED: a device's poll answered {first.status_code}: {first.text}")
    for _ in range(2):
        again = api.get(path, headers={**auth, "If-None-Match": first.headers["ETag"]})
        if again.status_code != 304:
            raise SystemExit(f"FAILED: a device's unchanged poll answered {again.status_code}")
    wait_for("granian to log the polls", lambda: logs["granian"].text().count(path) >= 3)
    if f"GET {path}" in logs["gunicorn"].text():
        raise SystemExit("FAILED: nginx sent a device's poll to gunicorn, not granian")


def main() -> int:
    run = f"deployed-{secrets.token_hex(4)}"
    database = f"trailhub_{run.replace('-', '_')}"
    var = Path(os.environ.get("SMOKE_DIR", f"/tmp/trailhub-{run}"))
    logs = var / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    front, http_port, ws_port, poll_port = (free_port() for _ in range(4))
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{database}",
        "REDIS_URL": os.environ["CI_REDIS_URL"],  # this run's own (.ci/redis-db.sh)
        "REDIS_PREFIX": run,
        "SECRET_KEY": f"deployed-smoke-{secrets.token_hex(24)}",
        "TRAILHUB_VAR_DIR": str(var / "var"),
        "TRAILHUB_DEMO_PASSWORD": "deployed-smoke-password",
        "PACK_ROLLOUT_SWEEP_INTERVAL": "5",
        "TRUSTED_PROXIES": "1",
        "PYTHONUNBUFFERED": "1",
    }
    with psycopg.connect(PG, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{database}"')
    processes = RUNNING
    try:
        manage(env, "migrate", "--no-input", "-v", "0")
        manage(env, "collectstatic", "--no-input", "-v", "0")
        manage(env, "demo")
        processes += [
            Process("gunicorn", [str(BIN / "gunicorn"), "trailhub.wsgi:application",
                                 "--bind", f"127.0.0.1:{http_port}", "--workers", "2",
                                 "--access-logfile", "-"], env, logs),
            Process("granian", [str(BIN / "granian"), "--interface", "wsgi",
                                "trailhub.wsgi:application", "--host", "127.0.0.1", "--port",
                                str(poll_port), "--workers", "1", "--blocking-threads", "4",
                                "--no-ws", "--access-log"], env, logs),
            Process("uvicorn", [str(BIN / "uvicorn"), "trailhub.asgi:application", "--host",
                                "127.0.0.1", "--port", str(ws_port), "--lifespan", "off"], env, logs),
            Process("worker", [str(BIN / "celery"), "-A", "trailhub", "worker", "--queues",
                               "trailhub", "--concurrency", "2", "--loglevel", "INFO"], env, logs),
            Process("beat", [str(BIN / "celery"), "-A", "trailhub", "beat", "--loglevel", "INFO",
                             "--schedule", str(var / "beat-schedule")], env, logs),
            Process("nginx", ["nginx", "-c", str(nginx.configure(
                var, front=front, http=http_port, ws=ws_port, poll=poll_port)), "-p", str(var)],
                env, logs),
        ]  # fmt: skip
        named = {process.name: process for process in processes}
        for name, port in (("gunicorn", http_port), ("granian", poll_port)):
            wait_for(f"{name} to answer", lambda port=port: httpx.get(
                f"http://127.0.0.1:{port}/healthz").status_code == 200)  # fmt: skip
        with httpx.Client(base_url=f"http://127.0.0.1:{front}", timeout=30) as api:
            wait_for("nginx to answer", lambda: api.get("/auth/login").status_code == 401)
            wait_for(
                "the Celery worker to be ready",
                lambda: "ready." in named["worker"].text(),
                timeout=90,
            )
            followers = deliver_rollout(
                api, f"ws://127.0.0.1:{front}", env["TRAILHUB_DEMO_PASSWORD"], wait_for
            )
            polled_by_granian(api, followers[0], named)
        wait_for(
            "beat to queue the rollout sweep",
            lambda: "packs.tasks.sweep_rollouts" in named["beat"].text(),
            timeout=30,
        )
        wait_for(
            "the worker to run the sweep",
            lambda: "Task packs.tasks.sweep_rollouts" in named["worker"].text(),
            timeout=30,
        )
        for process in processes:
            process.check_alive()
            if "Traceback" in process.text():
                raise SystemExit(f"FAILED: {process.name} logged a traceback\n{process.text()}")
        print(
            "deployed layout: nginx in front of gunicorn, granian (polls) and uvicorn, a Celery"
            " worker and beat delivered a rollout"
        )
        return 0
    finally:
        for process in processes:
            process.stop()
        with psycopg.connect(PG, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


if __name__ == "__main__":
    sys.exit(main())
