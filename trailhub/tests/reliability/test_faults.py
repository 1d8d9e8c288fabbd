"""Processes killed at the worst moment: the server mid-upload, a Celery worker mid-task.

(An agent killed mid-download that resumes and ends DONE is
trail/tests/e2e/test_faults.py::test_an_interrupted_download_resumes_where_it_stopped.)
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import signal
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from celery import Celery
from django.db import connection

from conftest import PASSWORD
from packs import rollout as ro
from packs import services as packs
from packs import tasks as pack_tasks
from packs.models import Delivery
from revisions import services as revisions
from revisions.models import Step
from testsupport.live import REPO, LiveHub, wait_for

SPEC = "pantavisor-service-system@1"


# --- The server, killed while an upload streams in -------------------------------------


@pytest.fixture
def hub(tmp_path):
    hub = LiveHub(tmp_path / "hub")
    hub.var_dir.mkdir()
    hub.migrate()
    hub.start()
    yield hub
    hub.stop()


def test_a_server_killed_mid_upload_keeps_no_object(hub):
    token = hub.signup("alice", PASSWORD)
    auth = {"Authorization": f"Bearer {token}"}
    # Past FILE_UPLOAD_MAX_MEMORY_SIZE, so that half of it is spooled to a (deleted) file.
    data = secrets.token_bytes(8 * 1024 * 1024)
    sha = hashlib.sha256(data).hexdigest()
    announce = {"objectname": "big", "size": str(len(data)), "sha256sum": sha}
    granted = httpx.post(f"{hub.url}/objects", json=announce, headers=auth)
    assert granted.status_code == 200, granted.text

    half_sent, killed = threading.Event(), threading.Event()

    def body():
        yield data[: len(data) // 2]
        half_sent.set()
        killed.wait(30)  # the rest never comes: the server dies first
        yield data[len(data) // 2 :]

    def upload():
        with contextlib.suppress(httpx.HTTPError):  # the server goes away, as intended
            httpx.put(granted.json()["signed-puturl"], content=body(), timeout=30)

    uploader = threading.Thread(target=upload)
    uploader.start()
    half_sent.wait(30)
    # Under ASGI, Django spools the body before the view streams it into objects/tmp.
    partial = hub.objects_dir / "tmp"
    wait_for(
        "half the upload to reach the server",
        lambda: _bytes_under(partial) > 0 or _spooling(hub.process.pid),
    )
    hub.process.send_signal(signal.SIGKILL)
    hub.process.wait()
    hub.process = None
    killed.set()
    uploader.join(30)

    hub.start()
    # Not stored: no content file, no download URL, the owner must upload it again,
    # and a revision cannot name it.
    assert not (hub.objects_dir / sha[:2] / sha).exists()
    assert httpx.get(f"{hub.url}/objects/{sha}", headers=auth).json()["signed-geturl"] == ""
    again = httpx.post(f"{hub.url}/objects", json=announce, headers=auth)
    assert again.status_code == 200  # not 409: the owner does not have it
    # And the upload works from the start once the server is back.
    put = httpx.put(again.json()["signed-puturl"], content=data, timeout=30)
    assert put.status_code == 200, put.text
    assert (hub.objects_dir / sha[:2] / sha).read_bytes() == data
    assert httpx.post(f"{hub.url}/objects", json=announce, headers=auth).status_code == 409


def _spooling(pid: int) -> bool:
    """Whether the process holds a deleted temporary file open (a spooled request body)."""
    fds = Path(f"/proc/{pid}/fd")
    return any(os.readlink(fd).endswith("(deleted)") for fd in fds.iterdir())


def _bytes_under(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.glob("*")) if folder.is_dir() else 0


# --- A Celery worker, killed while it posts a pack follower's revision -----------------


def _database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


class Worker:
    """``celery worker`` on the test's database and its own queue, in a subprocess."""

    def __init__(self, folder: Path, pool: str, hang_at: str, settings, broker: str) -> None:
        self.queue = f"faults-{uuid.uuid4().hex[:12]}"
        self.marker, self.runs = folder / "hung.pid", folder / "runs"
        self.log = folder / "worker.log"
        self.pool, self.broker = pool, broker
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "trailhub.settings",
            "DATABASE_URL": _database_url(),
            "SECRET_KEY": settings.SECRET_KEY,
            "CELERY_BROKER_URL": broker,
            "FAULT_QUEUE": self.queue,
            "FAULT_HANG_AT": hang_at,
            "FAULT_MARKER": str(self.marker),
            "FAULT_RUNS": str(self.runs),
            "PYTHONUNBUFFERED": "1",
        }
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable, "-m", "celery",
                    "-A", "trailhub.tests.reliability.celery_faults", "worker",
                    "-Q", self.queue, "--pool", self.pool, "--concurrency", "1",
                    "--without-gossip", "--without-mingle", "--without-heartbeat",
                    "-n", f"{self.queue}@%h", "--loglevel", "INFO",
                ],
                cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def send(self, task: str, *args) -> None:
        app = Celery(broker=self.broker)
        app.send_task(task, args=args, queue=self.queue)
        app.close()

    def finished(self) -> list[str]:
        return self.runs.read_text().split() if self.runs.exists() else []

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


@pytest.fixture
def delivery(owner, make_device, monkeypatch):
    """A pack whose follower is due the leader's revision: one pending delivery."""
    # Nothing is queued from this process: the test sends the one task itself.
    idle = SimpleNamespace(delay=lambda *args: None)
    for name in ("start_rollout", "deliver", "evaluate_rollout"):
        monkeypatch.setattr(pack_tasks, name, idle)
    leader = make_device(owner, nick="leader")
    follower = make_device(owner, nick="follower")
    revisions.create_trail(follower, {"#spec": SPEC, "follower.json": 1})
    revisions.create_trail(leader, {"#spec": SPEC, "leader.json": 1})
    pack = packs.create_pack(owner, nick="fleet", leader=leader)
    packs.add_follower(pack, follower)
    packs.start_rollout(pack.id, Step.objects.get(trail_id=leader.id, rev=0).pk)
    found = Delivery.objects.get(device=follower, status=ro.D_PENDING)
    return found


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "killed, pool, hang_at",
    [
        ("the task's process, inside its transaction", "prefork", "transaction"),
        ("the task's process, after its commit", "prefork", "ack"),
        ("the whole worker, after the commit", "solo", "ack"),
    ],
)
def test_a_worker_killed_mid_task_does_the_work_once(
    delivery, tmp_path, settings, killed, pool, hang_at, redis_db
):
    worker = Worker(tmp_path, pool, hang_at, settings, os.environ.get("REDIS_URL") or redis_db)
    worker.start()
    try:
        worker.send("packs.tasks.deliver", delivery.id)
        pid = int(wait_for("the task to hang", worker.marker.read_text, 60, every=0.1))
        os.kill(pid, signal.SIGKILL)
        if pool == "solo":  # nobody left to run it: a new worker gets the unacknowledged message
            worker.process.wait()
            worker.start()
        expected = 1 if hang_at == "transaction" else 2  # the first run finished its work or not
        wait_for(
            f"the task to run again ({worker.tail()})",
            lambda: worker.finished().count("packs.tasks.deliver") == expected,
            60,
        )
    finally:
        worker.stop()

    delivery.refresh_from_db()
    assert delivery.status == ro.D_POSTED, delivery.error
    posted = Step.objects.filter(trail_id=delivery.device_id, rev__gt=0)
    assert [step.pk for step in posted] == [delivery.step_id]
    assert worker.finished().count("packs.tasks.deliver") == expected
