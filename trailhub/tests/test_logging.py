"""What the server's console says (trailhub/logs.py, LOGGING in trailhub/settings.py).

A live hub runs as `make run` runs it (uvicorn, nothing set but the test's own
settings, so LOG_LEVEL is the default) and the tests read what it wrote. Each
act ends with a marker, an anonymous device registration (a write, one line):
once the marker's line is there, everything the act logged is too.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import subprocess
import sys
from collections.abc import Callable

import httpx
import pytest

from testsupport.live import REPO, LiveHub, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    live = LiveHub(tmp_path_factory.mktemp("logs"))
    for name in ("LOG_LEVEL", "LOG_FORMAT"):
        live.env.pop(name, None)
    live.env["DJANGO_SETTINGS_MODULE"] = "trailhub.tests.log_settings"
    live.migrate()
    live.start()
    yield live
    live.stop()


def logged_by(hub: LiveHub, act: Callable[[httpx.Client], None]) -> list[str]:
    """The lines the server wrote while ``act`` ran."""
    log = hub.var_dir / "server.log"
    start = log.stat().st_size
    mark = secrets.token_hex(8)
    with httpx.Client(base_url=hub.url, timeout=30) as client:
        act(client)
        response = client.post(f"/devices/?mark={mark}", json={"secret": secrets.token_hex(16)})
        assert response.status_code == 200, response.text

    def written() -> list[str] | None:
        lines = log.read_bytes()[start:].decode().splitlines()
        return lines if lines and f"mark={mark}" in lines[-1] else None

    lines = wait_for("the marker's line", written, timeout=10)
    assert "POST /devices/" in lines[-1] and lines[-1].startswith("INFO uvicorn.access")
    return lines[:-1]


def a_device(client: httpx.Client) -> tuple[str, dict]:
    secret = secrets.token_hex(16)
    device = client.post("/devices/", json={"secret": secret}).json()
    login = client.post("/auth/login", json={"username": device["prn"], "password": secret})
    return device["id"], {"Authorization": f"Bearer {login.json()['token']}"}


def a_person(client: httpx.Client) -> dict:
    nick = "p" + secrets.token_hex(4)
    password = "a long pass phrase"
    body = {"nick": nick, "email": f"{nick}@example.com", "password": password}
    assert client.post("/auth/accounts", json=body).status_code == 200
    login = client.post("/auth/login", json={"username": nick, "password": password})
    return {"Authorization": f"Bearer {login.json()['token']}"}


def test_it_logs_nothing_for_a_device_poll_nor_a_routine_409(hub):
    with httpx.Client(base_url=hub.url, timeout=30) as client:
        device_id, device = a_device(client)
        person = a_person(client)
        data = secrets.token_bytes(64)
        sha = hashlib.sha256(data).hexdigest()
        announce = {"objectname": "blob", "sha256sum": sha, "size": str(len(data))}
        grant = client.post("/objects/", json=announce, headers=person).json()
        assert client.put(grant["signed-puturl"], content=data).status_code == 200

    def act(client: httpx.Client) -> None:
        for _ in range(3):
            response = client.get(f"/trails/{device_id}/steps", headers=device)
            assert response.status_code == 200, response.text
        # `pvr post` announces every object; the hub has this one: a 409.
        assert client.post("/objects/", json=announce, headers=person).status_code == 409

    assert logged_by(hub, act) == []


def test_it_logs_a_server_error_with_its_traceback(hub):
    def act(client: httpx.Client) -> None:
        assert client.get("/boom/").status_code == 500

    lines = logged_by(hub, act)
    assert lines[0] == "ERROR django.request: Internal Server Error: /boom/"
    assert "RuntimeError: a bug" in lines
    assert lines[-1].startswith("INFO uvicorn.access") and '"GET /boom/ HTTP/1.1" 500' in lines[-1]


def test_it_logs_a_bad_host_header_in_one_line(hub):
    def act(client: httpx.Client) -> None:
        assert client.get("/", headers={"Host": "evil.example"}).status_code == 400

    assert logged_by(hub, act) == [
        "WARNING django.security.DisallowedHost: Invalid HTTP_HOST header: 'evil.example'."
        " You may need to add 'evil.example' to ALLOWED_HOSTS."
    ]


# What uvicorn, Django and a Celery worker log, through the settings alone: no server.
PROBE = """
import logging, django
django.setup()
from trailhub.celery import app
app.log.setup_logging_subsystem(loglevel="INFO")  # what a worker does at start
access = logging.getLogger("uvicorn.access")
access.info('%s - "%s %s HTTP/%s" %d', "10.0.0.2:4711", "GET", "/trails/x/steps", "1.1", 200)
access.info('%s - "%s %s HTTP/%s" %d', "10.0.0.2:4711", "PUT", "/trails/x/steps/1/progress", "1.1", 200)
try:
    raise RuntimeError("a bug")
except RuntimeError:
    logging.getLogger("django.request").error(
        "Internal Server Error: %s", "/boom/", exc_info=True, extra={"status_code": 500, "request": object()}
    )
logging.getLogger("django.request").warning("Conflict: %s", "/objects/", extra={"status_code": 409})
logging.getLogger("celery.app.trace").info("Task %s succeeded", "packs.tasks.deliver")
"""


def run_probe(tmp_path, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LOG_")}
    clean.update(DJANGO_SETTINGS_MODULE="trailhub.settings", TRAILHUB_VAR_DIR=str(tmp_path), **env)
    for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"):
        clean.pop(name, None)
    return subprocess.run(
        [sys.executable, "-c", PROBE], cwd=REPO, env=clean, capture_output=True, text=True
    )


def test_log_format_json_writes_one_json_object_per_line(tmp_path):
    result = run_probe(tmp_path, LOG_FORMAT="json")
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stderr.splitlines()]
    assert [(r["levelname"], r["name"]) for r in records] == [
        ("INFO", "uvicorn.access"),
        ("ERROR", "django.request"),
        ("INFO", "celery.app.trace"),
    ]
    write, error, task = records
    assert (write["method"], write["path"], write["status_code"]) == (
        "PUT", "/trails/x/steps/1/progress", 200,
    )  # fmt: skip
    assert error["message"] == "Internal Server Error: /boom/"
    assert "RuntimeError: a bug" in error["exc_info"]
    assert "request" not in error
    assert task["message"] == "Task packs.tasks.deliver succeeded"
    assert all("timestamp" in r for r in records)


def test_log_level_debug_shows_every_request_again(tmp_path):
    result = run_probe(tmp_path, LOG_LEVEL="debug")
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert 'DEBUG uvicorn.access: 10.0.0.2:4711 - "GET /trails/x/steps HTTP/1.1" 200' in lines
    assert "DEBUG django.request: Conflict: /objects/" in lines
