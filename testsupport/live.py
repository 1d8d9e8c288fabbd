"""Trailhub and ``trail-agent`` in subprocesses, for the tests and the benchmarks.

:class:`Server` runs the hub as a deployment does, under uvicorn (ASGI) or
gunicorn (WSGI), on a free loopback port, and stops it; :class:`LiveHub` is
the tests' hub: embedded (SQLite and objects under a temporary
``TRAILHUB_VAR_DIR``), exactly as ``make run`` runs it, and it can be stopped
and started again on the same port and database, to test clients that must
ride out a hub that goes away. ``bench/common.py`` runs its servers with
:class:`Server` too, on PostgreSQL and Redis.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any, TypeVar

import httpx

REPO = Path(__file__).resolve().parents[1]
T = TypeVar("T")

# Settings that would point the server at shared services instead of embedded ones.
STRIPPED = (
    "DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "S3_BUCKET", "OBJECTS_BACKEND", "OBJECTS_DIR",
)  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what: str, check: Callable[[], T], timeout: float = 30.0, every: float = 0.05) -> T:
    """Call ``check`` until it returns something true; fail the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = check()
        except (AssertionError, OSError, ValueError, KeyError, httpx.HTTPError) as exc:
            last_error, result = exc, None
        if result:
            return result
        time.sleep(every)
    raise AssertionError(
        f"timed out waiting for {what}" + (f": {last_error!r}" if last_error else "")
    )


def create_bucket(client, bucket: str, timeout: float = 60) -> None:
    """Create ``bucket`` with the boto3 S3 ``client``, waiting out the 503
    ServiceUnavailable ("Please reduce your request rate") that Swift's S3 answers while
    its servers are still starting (revisions/tests/swift_s3.sh)."""
    from botocore.exceptions import ClientError

    def created() -> bool:
        try:
            client.create_bucket(Bucket=bucket)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ServiceUnavailable":
                raise
            return False
        return True

    wait_for("Swift to create the bucket", created, timeout=timeout, every=0.5)


def stop_process(process: subprocess.Popen | None, grace: float = 10) -> None:
    """Ask ``process`` to stop (SIGTERM); kill it when it has not after ``grace`` seconds."""
    if process is None:
        return
    process.terminate()
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class Server:
    """Trailhub under ``uvicorn`` (ASGI), ``gunicorn`` or ``granian`` (WSGI) in a subprocess.

    ``workers`` processes (uvicorn's own single process when None), ``args`` more
    options for the server, its output appended to ``log`` (else this process's).
    :meth:`answers` says when it is up; the log level is ``LOG_LEVEL`` of ``env``
    when it starts.
    """

    #: Seconds :meth:`stop` gives the server to finish before it is killed.
    grace: float = 10

    def __init__(
        self,
        env: dict[str, str],
        kind: str = "uvicorn",
        workers: int | None = None,
        args: Sequence[str] = (),
        log: Path | None = None,
        preexec_fn: Callable[[], Any] | None = None,
    ) -> None:
        self.env = env
        self.kind, self.workers, self.args = kind, workers, list(args)
        self.log, self.preexec_fn = log, preexec_fn
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def command(self) -> list[str]:
        level = self.env.get("LOG_LEVEL", "info").lower()
        workers = ["--workers", str(self.workers)] if self.workers else []
        if self.kind == "uvicorn":
            return [
                sys.executable, "-m", "uvicorn", "trailhub.asgi:application",
                "--host", "127.0.0.1", "--port", str(self.port), *workers,
                "--lifespan", "off", "--log-level", level, *self.args,
            ]  # fmt: skip
        if self.kind == "gunicorn":
            return [
                sys.executable, "-m", "gunicorn", "trailhub.wsgi:application",
                "--bind", f"127.0.0.1:{self.port}", *workers,
                "--log-level", level, *self.args,
            ]  # fmt: skip
        if self.kind == "granian":  # the devices' polls in a deployment (deploy/nginx.conf)
            return [
                sys.executable, "-m", "granian", "--interface", "wsgi", "trailhub.wsgi:application",
                "--host", "127.0.0.1", "--port", str(self.port), *workers, "--no-ws",
                "--log-level", level, *self.args,
            ]  # fmt: skip
        raise ValueError(self.kind)

    def start(self) -> Server:
        out: IO[bytes] | None = open(self.log, "ab") if self.log else None  # noqa: SIM115
        try:
            self.process = subprocess.Popen(
                self.command(),
                cwd=REPO,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT if out else None,
                preexec_fn=self.preexec_fn,
            )
        finally:
            if out:
                out.close()  # the server has its own copy
        wait_for("the server to answer", self._up, timeout=60)
        return self

    def _up(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"the server exited: {self.log_tail()}")
        return self.answers()

    def answers(self) -> bool:
        """Whether the server answers (it is up)."""
        return httpx.get(self.url + "/auth/auth_status", timeout=2).status_code == 401

    def stop(self) -> None:
        stop_process(self.process, self.grace)
        self.process = None

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log.read_text(errors="replace") if self.log else ""
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class LiveHub(Server):
    """The tests' hub: ``python manage.py migrate`` then the server (uvicorn unless
    ``kind`` says otherwise), embedded under ``var_dir``, its output in
    ``var_dir/server.log``."""

    def __init__(
        self,
        var_dir: Path,
        kind: str = "uvicorn",
        workers: int | None = None,
        args: Sequence[str] = (),
    ) -> None:
        env = {k: v for k, v in os.environ.items() if k not in STRIPPED}
        # A key of its own, known to the tests (to sign an expired token, say).
        self.secret_key = "e2e-" + secrets.token_urlsafe(40)
        env.update(
            SECRET_KEY=self.secret_key,
            TRAILHUB_VAR_DIR=str(var_dir),
            DJANGO_SETTINGS_MODULE="testsupport.hub_settings",
            SIGNUP_THROTTLE_RATE="1000/min",
            LOGIN_THROTTLE_RATE="1000/min",
            LOG_LEVEL="WARNING",
            PYTHONUNBUFFERED="1",
        )
        super().__init__(env, kind, workers, args, log=var_dir / "server.log")
        self.var_dir = var_dir

    @property
    def objects_dir(self) -> Path:
        return self.var_dir / "objects"

    def migrate(self) -> None:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
            cwd=REPO,
            env=self.env,
            check=True,
        )

    # --- API helpers for tests ---------------------------------------------------

    def signup(self, nick: str, password: str) -> str:
        """Create an account; return its token."""
        response = httpx.post(
            self.url + "/auth/accounts",
            json={"nick": nick, "email": f"{nick}@example.com", "password": password},
        )
        assert response.status_code == 200, response.text
        return self.login(nick, password)

    def login(self, username: str, password: str) -> str:
        response = httpx.post(
            self.url + "/auth/login", json={"username": username, "password": password}
        )
        assert response.status_code == 200, response.text
        return response.json()["token"]

    def get(self, path: str, token: str, **kwargs: Any) -> Any:
        response = httpx.get(
            self.url + path, headers={"Authorization": f"Bearer {token}"}, **kwargs
        )
        assert response.status_code == 200, f"GET {path}: {response.status_code} {response.text}"
        return response.json()


class Agent:
    """``trail-agent`` in a subprocess, its output in a file the test can read."""

    def __init__(self, home: Path, hub: str, *args: str, env: dict | None = None) -> None:
        self.home = home
        self.args = [
            sys.executable, "-m", "trail.agent", "--hub", hub, "--home", str(home), *args,
        ]  # fmt: skip
        self.env = env
        self.output = home.parent / f"{home.name}.out"
        self.process: subprocess.Popen | None = None

    def start(self) -> Agent:
        self.home.mkdir(parents=True, exist_ok=True)
        out = open(self.output, "ab")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(
            self.args, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, env=self.env
        )
        out.close()
        return self

    def kill(self) -> None:
        """Stop it dead, as a power cut would."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None

    def text(self) -> str:
        return self.output.read_text(errors="replace") if self.output.exists() else ""

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None
