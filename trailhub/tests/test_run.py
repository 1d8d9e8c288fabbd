"""`make run` with a broker: one command serves, runs a worker and beat; one Ctrl-C ends all.

The test runs what `make run` runs after migrating and adding the demo
accounts — ``manage.py serve`` — with DATABASE_URL (a PostgreSQL database of
its own) and REDIS_URL (a database of this run's own, keys under a prefix of its own) set, on
a free port. Then, over HTTP and the device WebSocket (trailhub/tests/rollout_flow.py,
as .ci/deployed_smoke.py does), a pack's followers receive the leader's
revision, which only a Celery worker delivers; beat queues its sweep. Last,
one SIGINT to the command's process group — what Ctrl-C in a terminal sends —
must leave no process of the run behind.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from testsupport.live import free_port, wait_for
from trailhub.tests.databases import scratch_database
from trailhub.tests.rollout_flow import deliver_rollout

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "make-run-test-password"
SWEPT = re.compile(r"Task packs\.tasks\.sweep_rollouts\[[^]]+\] succeeded")


@pytest.fixture
def database() -> Iterator[str]:
    with scratch_database("trailhub_ops_run") as name:
        yield name


@pytest.fixture
def env(database, tmp_path, redis_db) -> Iterator[dict]:
    run_id = f"ops-run-{secrets.token_hex(4)}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("S3_", "OBJECTS_"))},
        "DJANGO_SETTINGS_MODULE": "trailhub.tests.run_settings",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{database}",
        "REDIS_URL": redis_db,
        "REDIS_PREFIX": run_id,
        "SECRET_KEY": f"make-run-test-{secrets.token_hex(24)}",
        "TRAILHUB_VAR_DIR": str(tmp_path / "var"),
        "TRAILHUB_DEMO_PASSWORD": PASSWORD,
        "PACK_ROLLOUT_SWEEP_INTERVAL": "5",
        "WORKER_HEARTBEAT_INTERVAL": "1",
        "PYTHONUNBUFFERED": "1",
        # Every process of the run inherits this: how the test finds them all at the end.
        "TRAILHUB_RUN_TEST": run_id,
    }
    env.pop("CELERY_BROKER_URL", None)
    yield env
    client = redis.Redis.from_url(redis_db)
    for key in client.scan_iter(f"{run_id}:*"):
        client.delete(key)
    client.close()


def manage(env: dict, *args: str) -> str:
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def processes_of(run_id: str) -> set[int]:
    """Every live process whose environment names the run (however it was re-parented)."""
    marker = f"TRAILHUB_RUN_TEST={run_id}".encode()
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker in (entry / "environ").read_bytes().split(b"\0"):
                stat = (entry / "stat").read_text()
                if stat.rsplit(")", 1)[1].split()[0] != "Z":  # a zombie is gone, only unreaped
                    found.add(int(entry.name))
        except OSError:
            continue
    return found


def test_make_run_with_redis_delivers_a_rollout_and_one_sigint_stops_everything(env, tmp_path):
    manage(env, "migrate", "--no-input", "-v", "0")
    assert "demo" in manage(env, "demo")
    port = free_port()
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        serve = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=30) as api:
            # Ready means the web server answers, and it has seen the worker's heartbeat.
            wait_for("/readyz to answer 200", lambda: api.get("/readyz").status_code == 200, 90)
            deliver_rollout(api, f"ws://127.0.0.1:{port}", PASSWORD, wait_for)
        # Stopped between tasks: a task running at Ctrl-C loses its pool process to
        # honcho's SIGTERM and goes back to the queue (acks_late), with a traceback.
        wait_for("the worker to run beat's sweep", lambda: SWEPT.search(log.read_text()), 30)
        running = processes_of(env["TRAILHUB_RUN_TEST"])
        # honcho (and its helpers), uvicorn, the worker and its pool, beat
        assert len(running) >= 6, log.read_text()[-3000:]
        os.killpg(serve.pid, signal.SIGINT)
        serve.wait(30)  # honcho ends once every process it started has
        wait_for("every process of the run to end",
                 lambda: not processes_of(env["TRAILHUB_RUN_TEST"]), 10)  # fmt: skip
    finally:
        for pid in processes_of(env["TRAILHUB_RUN_TEST"]):
            os.kill(pid, signal.SIGKILL)
        if serve.poll() is None:
            serve.kill()
    text = log.read_text()
    assert "SIGINT received" in text
    for name in ("web", "worker", "beat"):
        assert f"{name}.1 stopped" in text, text[-3000:]
    assert "Traceback" not in text, text
