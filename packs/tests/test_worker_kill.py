"""A Celery worker killed in the middle of a rollout loses nothing and posts nothing twice.

Real processes: a ``celery -A trailhub worker`` (prefork) on a Redis broker,
and a PostgreSQL database of the test's own, shared with a driver process
that sets the pack up and posts the leader's revision. The worker is killed
with SIGKILL (its whole process group) once some followers have their new
revision; a second worker then takes the lost, unacknowledged messages and
the queued ones. Every follower must end with exactly one new revision.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis

from testsupport.live import wait_for
from trailhub.tests.databases import PG, scratch_database

REPO = Path(__file__).resolve().parents[2]
CELERY = Path(sys.executable).parent / "celery"
FOLLOWERS = 30
KILL_AFTER = 6


@pytest.fixture
def database() -> Iterator[str]:
    """A fresh PostgreSQL database for this run, dropped afterwards."""
    with scratch_database("trailhub_packs_kill") as name:
        yield name


@pytest.fixture
def run(database, tmp_path, redis_db) -> Iterator[dict]:
    """The environment every subprocess of the run shares; the run's Redis keys go after."""
    run_id = f"packs-kill-{secrets.token_hex(4)}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "packs.tests.worker_settings",
        "PACKS_KILL_RUN": run_id,
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{database}",
        "REDIS_URL": redis_db,
        "CELERY_BROKER_URL": redis_db,
        "REDIS_PREFIX": run_id,
        "SECRET_KEY": "packs-worker-kill-test-" + "k" * 32,
        "TRAILHUB_VAR_DIR": str(tmp_path / "var"),
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("PACKS_KILL_PAUSE", None)
    client = redis.Redis.from_url(redis_db)
    try:
        yield {"env": env, "id": run_id, "db": database, "redis": client, "tmp": tmp_path}
    finally:
        for key in client.scan_iter(f"*{run_id}*"):
            client.delete(key)
        client.close()


def manage(env: dict, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


class Worker:
    """``celery -A trailhub worker`` in its own process group (so a kill takes its children)."""

    def __init__(self, run: dict, name: str) -> None:
        self.log = run["tmp"] / f"{name}.log"
        env = {**run["env"], "PACKS_KILL_PAUSE": "0.15"}
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(
                [
                    str(CELERY), "-A", "trailhub", "worker", "--pool", "prefork",
                    "--concurrency", "2", "--loglevel", "INFO", "--hostname", f"{name}@%h",
                    "--without-gossip", "--without-mingle", "--without-heartbeat",
                ],
                cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def text(self) -> str:
        return self.log.read_text(errors="replace")


def query(db: str, sql: str, *params):
    with psycopg.connect(f"{PG} dbname={db}") as conn:
        return conn.execute(sql, params).fetchall()


def new_revisions(db: str, followers: list[str]) -> dict[str, int]:
    """How many revisions past the factory one each follower has."""
    rows = query(
        db,
        "SELECT trail_id, count(*) FROM revisions_step WHERE rev > 0 AND trail_id = ANY(%s)"
        " GROUP BY trail_id",
        followers,
    )
    return dict(rows)


def test_a_killed_worker_loses_and_duplicates_no_follower_post(run):
    env, db, broker = run["env"], run["db"], run["redis"]
    manage(env, "manage.py", "migrate", "--no-input", "-v", "0")
    ids = json.loads(manage(env, "-m", "packs.tests.worker_driver", "setup", str(FOLLOWERS)))
    followers = ids["followers"]
    unacked = f"{run['id']}:unacked"
    queue = f"{run['id']}:trailhub"

    first = Worker(run, "first")
    second = None
    try:
        # The worker is up once it has rolled out the leader's factory revision
        # (followers that already run it get no new revision).
        wait_for(
            "the first worker to finish the factory rollout",
            lambda: query(db, "SELECT status FROM devices_rollout") == [("completed",)],
            timeout=60,
        )
        posted = json.loads(manage(env, "-m", "packs.tests.worker_driver", "post"))
        wait_for(
            f"{KILL_AFTER} followers to get the new revision",
            lambda: len(new_revisions(db, followers)) >= KILL_AFTER,
            timeout=60,
            every=0.01,
        )
        first.kill()

        done_before = new_revisions(db, followers)
        assert KILL_AFTER <= len(done_before) < FOLLOWERS, "the kill came too late to matter"
        assert broker.hlen(unacked) >= 1, "the killed worker held no message"
        assert broker.llen(queue) >= 1, "nothing was left queued"
        pending = query(
            db,
            "SELECT count(*) FROM devices_delivery d JOIN devices_rollout r ON r.id = d.rollout_id"
            " WHERE r.leader_step_id = %s AND d.status = 'pending'",
            posted["step"],
        )
        assert pending[0][0] == FOLLOWERS - len(done_before)

        second = Worker(run, "second")
        wait_for(
            "every follower to get the new revision",
            lambda: len(new_revisions(db, followers)) == FOLLOWERS,
            timeout=60,
        )
        # Let the lost messages come back and run again before counting: nothing may be left.
        wait_for(
            "the lost messages to be redelivered and acknowledged",
            lambda: broker.hlen(unacked) == 0 and broker.llen(queue) == 0,
            timeout=30,
        )
    finally:
        first.stop()
        if second is not None:
            second.stop()

    assert new_revisions(db, followers) == dict.fromkeys(followers, 1)
    deliveries = query(
        db,
        "SELECT d.status, s.rev, s.state_sha = leader.state_sha FROM devices_delivery d"
        " JOIN devices_rollout r ON r.id = d.rollout_id"
        " JOIN revisions_step leader ON leader.id = r.leader_step_id"
        " JOIN revisions_step s ON s.id = d.step_id WHERE r.leader_step_id = %s",
        posted["step"],
    )
    assert sorted(deliveries) == [("posted", 1, True)] * FOLLOWERS
    # The followers have not installed it (no devices run here): the wave still waits for them.
    rollout = query(
        db, "SELECT status FROM devices_rollout WHERE leader_step_id = %s", posted["step"]
    )
    assert rollout == [("running",)]
    assert "Traceback" not in second.text()
