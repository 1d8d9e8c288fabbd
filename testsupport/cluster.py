"""Trailhub as several nodes behind nginx, on loopback: the layout of docs/deployment.md,
"Several nodes", for the cluster tests and ``bench/cluster.py``; ``make cluster`` runs it
for a person (``python -m testsupport.cluster``).

Each :class:`Node` is what one machine runs: gunicorn (pages and the API), granian (the
devices' polls), both serving ``trailhub.wsgi:application``, and uvicorn (the WebSockets
under ``/ws/``), each in a process group of its own so that :meth:`Node.kill` takes the
whole node down at once. Shared by the nodes: one Celery worker and one beat, PostgreSQL
(a database of the cluster's own, dropped at the end), a Redis server of its own
(``--save ""``, so that :meth:`Cluster.restart_redis` loses everything, as a crashed Redis
without persistence does), Swift's S3 (revisions/tests/swift_s3.sh) and nginx as the load
balancer in front, serving deploy/nginx.conf with every node in each upstream.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from testsupport import nginx
from testsupport.live import (
    REPO,
    STRIPPED,
    Server,
    create_bucket,
    free_port,
    stop_process,
    wait_for,
)

PG = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
SWIFT = REPO / "revisions" / "tests" / "swift_s3.sh"
FAILED_LOG = """  map $status $failed {{ ~^5 1; default 0; }}
  log_format failed '$request_method $uri $status $upstream_addr $upstream_status';
  access_log {prefix}/failed.log failed if=$failed;"""
DEMO_PASSWORD = "cluster-demo-password"
S3_KEYS = {"S3_ACCESS_KEY_ID": "test:tester", "S3_SECRET_ACCESS_KEY": "testing"}


def spawn(argv: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """``argv`` in a process group of its own, its output appended to ``log``."""
    with open(log, "ab") as out:
        return subprocess.Popen(
            argv, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def kill_group(process: subprocess.Popen | None) -> None:
    """SIGKILL ``process`` and every process of its group (a server's workers)."""
    if process is None:
        return
    with contextlib.suppress(ProcessLookupError):  # the whole group is gone already
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


class Node:
    """One hub node: ``http_workers`` gunicorn workers, one granian worker for the devices'
    polls and ``ws_workers`` uvicorn workers, as docs/deployment.md lays a machine out."""

    def __init__(self, name: str, env: dict[str, str], logs: Path, http_workers: int,
                 ws_workers: int) -> None:  # fmt: skip
        self.name = name
        self.http = Server(env, "gunicorn", http_workers, ["--timeout", "30"],
                           log=logs / f"{name}-gunicorn.log", preexec_fn=os.setsid)  # fmt: skip
        self.poll = Server(env, "granian", 1, ["--blocking-threads", "4"],
                           log=logs / f"{name}-granian.log", preexec_fn=os.setsid)  # fmt: skip
        uvicorn = ["--proxy-headers", "--ws-per-message-deflate", "false", "--no-access-log"]
        self.ws = Server(env, "uvicorn", ws_workers, uvicorn,
                         log=logs / f"{name}-uvicorn.log", preexec_fn=os.setsid)  # fmt: skip
        self.servers = (self.http, self.poll, self.ws)

    def start(self) -> Node:
        for server in self.servers:
            server.start()
        return self

    def kill(self) -> None:
        """SIGKILL every process of the node at once: the masters and all their workers."""
        for server in self.servers:
            if server.process is not None:
                os.killpg(server.process.pid, signal.SIGKILL)
        for server in self.servers:
            kill_group(server.process)
            server.process = None

    def stop(self) -> None:
        for server in self.servers:
            server.stop()

    def sockets(self) -> int:
        """WebSockets open on the node's uvicorn (established connections to its port)."""
        out = subprocess.run(
            ["ss", "-Htn", "state", "established", f"( sport = :{self.ws.port} )"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        return len(out.splitlines())


class Cluster:
    """``nodes`` hub nodes, a Celery worker and beat, behind nginx (``url``), under ``folder``.

    ``retry=False`` leaves nginx's ``proxy_next_upstream`` off: a dead node's requests
    then fail (the tests' proof that it is the retry that hides a dead node).
    """

    def __init__(self, folder: Path, nodes: int = 2, http_workers: int = 2, ws_workers: int = 1,
                 retry: bool = True) -> None:  # fmt: skip
        self.folder, self.retry = folder, retry
        self.logs = folder / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        run = secrets.token_hex(4)
        self.database = f"trailhub_cluster_{run}"
        self.bucket = f"trailhub-cluster-{run}"
        self.redis_port, self.port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.swift_ports = [free_port() for _ in range(5)]
        self.s3_url = f"http://127.0.0.1:{self.swift_ports[0]}"
        base = {k: v for k, v in os.environ.items() if k not in STRIPPED}
        self.env = {
            **base,
            "DJANGO_SETTINGS_MODULE": "trailhub.settings",
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{self.database}",
            "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "SECRET_KEY": f"cluster-{secrets.token_urlsafe(48)}",
            "TRAILHUB_VAR_DIR": str(folder / "var"),
            "S3_BUCKET": self.bucket,
            "S3_ENDPOINT_URL": self.s3_url,
            **S3_KEYS,
            "TRUSTED_PROXIES": "1",  # nginx appends the client to X-Forwarded-For
            "TRAILHUB_DEMO_PASSWORD": DEMO_PASSWORD,
            "PACK_ROLLOUT_SWEEP_INTERVAL": "5",
            # Every simulated device comes from 127.0.0.1.
            "DEVICE_REGISTER_THROTTLE_RATE": "100000/hour",
            "LOGIN_THROTTLE_RATE": "100000/min",
            "LOGIN_ADDRESS_THROTTLE_RATE": "100000/hour",
            "LOGIN_ACCOUNT_THROTTLE_RATE": "100000/hour",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
        self.nodes = [
            Node(chr(ord("a") + n), self.env, self.logs, http_workers, ws_workers)
            for n in range(nodes)
        ]
        self.redis: subprocess.Popen | None = None
        self.worker: subprocess.Popen | None = None
        self.beat: subprocess.Popen | None = None
        self.restarts = {"worker": 0, "beat": 0}  # by the supervisor (:meth:`_supervise`)
        self._stopping = threading.Event()
        self.nginx: subprocess.Popen | None = None

    # --- the shared engines ---------------------------------------------------------

    def start_redis(self) -> None:
        argv = ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no"]  # fmt: skip
        self.redis = spawn(argv, self.logs / "redis.log")
        wait_for("Redis to answer", self._redis_answers, timeout=20)

    def _redis_answers(self) -> bool:
        import redis

        return bool(redis.Redis(port=self.redis_port, socket_timeout=1).ping())

    def restart_redis(self) -> None:
        """Stop Redis and start it again, empty (nothing is saved)."""
        stop_process(self.redis)
        self.start_redis()

    def _swift(self, action: str) -> None:
        names = ("PORT", "OBJECT_PORT", "CONTAINER_PORT", "ACCOUNT_PORT", "MEMCACHED_PORT")
        env = {**os.environ, "SWIFT_S3_DIR": str(self.folder / "swift")}
        env.update({f"SWIFT_S3_{n}": str(p) for n, p in zip(names, self.swift_ports, strict=True)})
        subprocess.run([str(SWIFT), action], env=env, check=action == "start", timeout=180,
                       capture_output=True)  # fmt: skip

    def s3(self):
        """A boto3 client of the cluster's bucket's S3."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3", endpoint_url=self.s3_url, region_name="us-east-1",
            aws_access_key_id=S3_KEYS["S3_ACCESS_KEY_ID"],
            aws_secret_access_key=S3_KEYS["S3_SECRET_ACCESS_KEY"],
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )  # fmt: skip

    def _manage(self, *args: str) -> None:
        subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=self.env, check=True,
                       capture_output=True)  # fmt: skip

    def sql(self, query: str, *params: object) -> list[tuple]:
        """Rows of ``query`` on the cluster's database."""
        import psycopg

        with psycopg.connect(self.env["DATABASE_URL"]) as db:
            return db.execute(query, params).fetchall()

    # --- the whole ------------------------------------------------------------------

    def start(self) -> Cluster:
        import psycopg

        self.start_redis()
        self.folder.joinpath("swift").mkdir(exist_ok=True)
        self._swift("start")
        create_bucket(self.s3(), self.bucket)
        with psycopg.connect(PG, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{self.database}"')
        self._manage("migrate", "--no-input", "-v", "0")
        self._manage("collectstatic", "--no-input", "-v", "0")
        self._manage("demo")
        for node in self.nodes:
            node.start()
        self.worker, self.beat = self._celery("worker"), self._celery("beat")
        threading.Thread(target=self._supervise, name="cluster-supervisor", daemon=True).start()
        wait_for("the Celery worker", lambda: "ready." in self.log("worker"), timeout=90)
        self.start_nginx()
        return self

    def _celery(self, name: str) -> subprocess.Popen:
        """The Celery ``worker`` or ``beat``, its output appended to ``<name>.log``."""
        celery = [str(Path(sys.executable).with_name("celery")), "-A", "trailhub"]
        if name == "worker":
            argv = [*celery, "worker", "--queues", "trailhub", "--concurrency", "2"]
            env = {**self.env, "LOG_LEVEL": "INFO"}
        else:
            argv = [*celery, "beat", "--schedule", str(self.folder / "beat-schedule")]
            env = self.env
        return spawn([*argv, "--loglevel", "INFO"], self.logs / f"{name}.log", env)

    def _supervise(self) -> None:
        """Start the Celery worker or beat again when it exits, as a deployment's process
        supervisor does (systemd ``Restart=always``, docs/deployment.md): kombu's Redis
        transport can end the worker when Redis goes away in the middle of a read (an
        AttributeError while it closes its channel, "Unrecoverable error"; seen in CI)."""
        while not self._stopping.wait(1):
            for name in ("worker", "beat"):
                process = getattr(self, name)
                if process is not None and process.poll() is not None:
                    if self._stopping.is_set():
                        return
                    self.restarts[name] += 1
                    setattr(self, name, self._celery(name))

    def start_nginx(self) -> None:
        """deploy/nginx.conf in front, with each node in each upstream; it also logs every
        5xx answer, the tests' proof that no GET failed (a method nginx retries)."""
        prefix = self.folder / "nginx"
        prefix.mkdir(exist_ok=True)
        conf = nginx.configure(
            prefix, front=self.port, retry=self.retry, extra=FAILED_LOG.format(prefix=prefix),
            http=[n.http.port for n in self.nodes], poll=[n.poll.port for n in self.nodes],
            ws=[n.ws.port for n in self.nodes],
        )  # fmt: skip
        self.nginx = spawn(["nginx", "-c", str(conf), "-p", str(prefix)], self.logs / "nginx.log")
        wait_for("nginx", lambda: httpx.get(self.url + "/healthz", timeout=2).status_code == 200)

    def failed_requests(self) -> list[str]:
        """nginx's 5xx answers: ``METHOD path status upstreams upstream-statuses`` each."""
        path = self.folder / "nginx" / "failed.log"
        return path.read_text().splitlines() if path.exists() else []

    def log(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def owner_token(self) -> str:
        body = {"username": "demo", "password": DEMO_PASSWORD}
        response = httpx.post(self.url + "/auth/login", json=body, timeout=30)
        response.raise_for_status()
        return response.json()["token"]

    def stop(self) -> None:
        import psycopg

        self._stopping.set()
        for process in (self.nginx, self.beat, self.worker):
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(20)
                except subprocess.TimeoutExpired:
                    kill_group(process)
        for node in self.nodes:
            node.stop()
        self._swift("stop")
        stop_process(self.redis)
        with psycopg.connect(PG, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')

    def __enter__(self) -> Cluster:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> None:
    """``make cluster``: start two nodes behind nginx; Ctrl-C stops everything."""
    import tempfile

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)  # a terminated run stops all too
    folder = Path(tempfile.mkdtemp(prefix="trailhub-cluster-"))
    with Cluster(folder) as cluster:
        print(f"Trailhub cluster on {cluster.url} (demo / {DEMO_PASSWORD})")
        for node in cluster.nodes:
            print(f"  node {node.name}: gunicorn {node.http.url}, uvicorn {node.ws.url}")
        print(f"  S3 {cluster.s3_url} bucket {cluster.bucket}, Redis :{cluster.redis_port}, "
              f"database {cluster.database}; logs in {cluster.logs}. Ctrl-C stops all.")  # fmt: skip
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("stopping")


if __name__ == "__main__":
    main()
