"""A real Trailhub server in a subprocess, and the tools to drive it from tests.

The server runs embedded (SQLite and objects under a temporary
``TRAILHUB_VAR_DIR``), exactly as ``make run`` does; it can be stopped and
started again on the same port and database, to test clients that must ride
out a hub that goes away.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx

REPO = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
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


class LiveHub:
    """``python manage.py migrate`` then uvicorn, on a free port."""

    def __init__(self, var_dir: Path) -> None:
        self.var_dir = var_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.env = {k: v for k, v in os.environ.items() if k not in STRIPPED}
        # A key of its own, known to the tests (to sign an expired token, say).
        self.secret_key = "e2e-" + secrets.token_urlsafe(40)
        self.env.update(
            SECRET_KEY=self.secret_key,
            TRAILHUB_VAR_DIR=str(var_dir),
            DJANGO_SETTINGS_MODULE="trail.tests.e2e.hub_settings",
            SIGNUP_THROTTLE_RATE="1000/min",
            LOGIN_THROTTLE_RATE="1000/min",
            LOG_LEVEL="WARNING",
            PYTHONUNBUFFERED="1",
        )

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

    def start(self) -> None:
        log = open(self.var_dir / "server.log", "ab")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "uvicorn", "trailhub.asgi:application",
                "--host", "127.0.0.1", "--port", str(self.port),
                "--lifespan", "off", "--log-level", self.env.get("LOG_LEVEL", "info").lower(),
            ],
            cwd=REPO,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        log.close()
        wait_for("the server to answer", self._answers, timeout=60)

    def _answers(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"the server exited: {self.log_tail()}")
        return httpx.get(self.url + "/auth/auth_status", timeout=2).status_code == 401

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = (self.var_dir / "server.log").read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

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

    def get(self, path: str, token: str, **kwargs) -> Any:
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
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None

    def text(self) -> str:
        return self.output.read_text(errors="replace") if self.output.exists() else ""

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None
