"""A real Celery worker announces itself; the warning goes while it runs and comes back after.

``celery -A trailhub worker`` runs as its own process on Redis database 14
(keys under a prefix of the test's own, so parallel runs never meet), with a
heartbeat every second. This process reads the same cache, as the hub's web
processes do, and sends its tasks to a broker.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from testsupport.live import wait_for
from trailhub import workers
from trailhub.cache import RedisCache

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def run(settings, tmp_path, broker_configured, monkeypatch, redis_db) -> Iterator[dict]:
    prefix = f"ops-heartbeat-{secrets.token_hex(4)}"
    # The heartbeat is read from the worker's cache. Only trailhub.workers is pointed
    # at it: the suite's cache.clear() (a FLUSHDB) must not reach this database,
    # where test_run.py may be running at the same time.
    monkeypatch.setattr(workers, "cache", RedisCache(redis_db, {"KEY_PREFIX": prefix}))
    settings.WORKER_HEARTBEAT_TIMEOUT = 3
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "S3_BUCKET")},
        "DJANGO_SETTINGS_MODULE": "trailhub.tests.run_settings",
        "REDIS_URL": redis_db,
        "CELERY_BROKER_URL": redis_db,
        "REDIS_PREFIX": prefix,
        "TRAILHUB_VAR_DIR": str(tmp_path / "var"),
        "WORKER_HEARTBEAT_INTERVAL": "1",
        "WORKER_HEARTBEAT_TIMEOUT": "3",
        "PYTHONUNBUFFERED": "1",
    }
    yield {"env": env, "log": tmp_path / "worker.log"}
    import redis

    client = redis.Redis.from_url(redis_db)
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)
    client.close()


def warned(client) -> bool:
    return "data-worker-warning" in client.get("/dashboard/packs/").content.decode()


def check_deploy() -> str:
    out = StringIO()
    call_command("check", "--deploy", "--tag", "workers", stdout=out, stderr=out)
    return out.getvalue()


def test_a_running_worker_clears_the_warning_and_a_stopped_one_brings_it_back(run, client, owner):
    client.force_login(owner)
    assert warned(client)
    assert "portal.W001" in check_deploy()
    assert client.get("/readyz").json()["checks"]["worker"]["ok"] is False

    with open(run["log"], "wb") as log:
        worker = subprocess.Popen(
            [str(Path(sys.executable).parent / "celery"), "-A", "trailhub", "worker",
             "--pool", "solo", "--loglevel", "INFO", "--hostname", "heartbeat@%h",
             "--without-gossip", "--without-mingle"],
            cwd=REPO, env=run["env"], stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        wait_for("the worker's heartbeat to clear the warning", lambda: not warned(client), 60)
        readyz = client.get("/readyz").json()["checks"]["worker"]
        assert readyz["ok"] is True
        assert readyz["detail"].startswith("heartbeat@")
        assert "portal.W001" not in check_deploy()
        # It keeps beating: well past the timeout, the warning is still away.
        first = workers.last_heartbeat()["at"]
        wait_for("a later heartbeat", lambda: workers.last_heartbeat()["at"] > first + 1, 10)
        assert not warned(client)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(20)
    assert worker.returncode == 0, run["log"].read_text()

    wait_for("the warning to come back once the worker stopped", lambda: warned(client), 10)
    assert "portal.W001" in check_deploy()
    assert client.get("/readyz").status_code == 503
