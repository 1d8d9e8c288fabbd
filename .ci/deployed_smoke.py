"""The hub as docs/deployment.md deploys it, proven process by process.

Run by `.ci/deployed-smoke.sh` with the Python of a virtualenv that holds
`requirements.txt` alone (no test or lint tools), so that a runtime
dependency that only the dev requirements bring in fails here, as it would
for a user. It uses nothing but the standard library and the runtime set.

What runs, each as its own process on a fresh PostgreSQL database and a
Redis database of its own: gunicorn (pages and the API), uvicorn (the
WebSockets), one Celery worker and one Celery beat. Everything after the
demo account is done over HTTP and WebSocket, as a user and devices would:

1. three devices register, are claimed, log in and post factory states;
2. a pack: one leader, two followers; one follower holds the device
   WebSocket on uvicorn;
3. a revision posted to the leader, the leader reports DONE;
4. the Celery worker delivers it: both followers have revision 1 and the
   one on the WebSocket is told so;
5. beat queues its periodic sweep, and the worker runs it.

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


def main() -> int:
    run = f"deployed-{secrets.token_hex(4)}"
    database = f"trailhub_{run.replace('-', '_')}"
    var = Path(os.environ.get("SMOKE_DIR", f"/tmp/trailhub-{run}"))
    logs = var / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    http_port, ws_port = free_port(), free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{database}",
        "REDIS_URL": os.environ["CI_REDIS_URL"],  # this run's own (.ci/redis-db.sh)
        "REDIS_PREFIX": run,
        "SECRET_KEY": f"deployed-smoke-{secrets.token_hex(24)}",
        "TRAILHUB_VAR_DIR": str(var / "var"),
        "TRAILHUB_DEMO_PASSWORD": "deployed-smoke-password",
        "PACK_ROLLOUT_SWEEP_INTERVAL": "5",
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
                                 "--bind", f"127.0.0.1:{http_port}", "--workers", "2"], env, logs),
            Process("uvicorn", [str(BIN / "uvicorn"), "trailhub.asgi:application", "--host",
                                "127.0.0.1", "--port", str(ws_port), "--lifespan", "off"], env, logs),
            Process("worker", [str(BIN / "celery"), "-A", "trailhub", "worker", "--queues",
                               "trailhub", "--concurrency", "2", "--loglevel", "INFO"], env, logs),
            Process("beat", [str(BIN / "celery"), "-A", "trailhub", "beat", "--loglevel", "INFO",
                             "--schedule", str(var / "beat-schedule")], env, logs),
        ]  # fmt: skip
        base = f"http://127.0.0.1:{http_port}"
        with httpx.Client(base_url=base, timeout=30) as api:
            wait_for("gunicorn to answer", lambda: api.get("/auth/login").status_code == 401)
            wait_for(
                "the Celery worker to be ready", lambda: "ready." in processes[2].text(), timeout=90
            )
            deliver_rollout(
                api, f"ws://127.0.0.1:{ws_port}", env["TRAILHUB_DEMO_PASSWORD"], wait_for
            )
        wait_for(
            "beat to queue the rollout sweep",
            lambda: "packs.tasks.sweep_rollouts" in processes[3].text(),
            timeout=30,
        )
        wait_for(
            "the worker to run the sweep",
            lambda: "Task packs.tasks.sweep_rollouts" in processes[2].text(),
            timeout=30,
        )
        for process in processes:
            process.check_alive()
            if "Traceback" in process.text():
                raise SystemExit(f"FAILED: {process.name} logged a traceback\n{process.text()}")
        print("deployed layout: gunicorn, uvicorn, a Celery worker and beat delivered a rollout")
        return 0
    finally:
        for process in processes:
            process.stop()
        with psycopg.connect(PG, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


if __name__ == "__main__":
    sys.exit(main())
