"""Browser tests: Debian's chromium, driven by Playwright, against a real server.

The server is trail's end-to-end hub (testsupport/live.py): uvicorn on a
free port, embedded settings, a temporary TRAILHUB_VAR_DIR, so WebSockets and
the in-memory channel layer work as in ``make run``. Devices are trail-agent
processes; revisions are posted with the ``trail`` CLI.

Screenshots of the main pages go to test-output/screenshots/ for a reviewer.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from testsupport.live import REPO, Agent, LiveHub, wait_for

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = REPO / "test-output" / "screenshots"
PASSWORD = "a long browser pass phrase"
REGISTERED = re.compile(r"registered device ([0-9a-f]{24}); claim it with: trail claim -c (\S+)")
CLI = "import sys; from trail.cli import main; sys.exit(main())"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's chromium: Playwright cannot download its own browser here."""
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
        ],
    }


@pytest.fixture(scope="session")
def device():
    """pytest-playwright's device emulation (none); the root conftest's ``device`` is a model."""
    return None


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1280, "height": 860}}


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    """A real Trailhub for this module's tests."""
    live = LiveHub(tmp_path_factory.mktemp("hub"))
    live.migrate()
    live.start()
    yield live
    live.stop()


@pytest.fixture
def shoot():
    """``shoot(page, name)``: a full-page screenshot for reviewers."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


class AgentDevice:
    """A trail-agent device: its id and challenge, read from what it prints."""

    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        found = wait_for("the agent to register", self._registration, timeout=60)
        self.id, self.challenge = found.group(1), found.group(2)

    def _registration(self):
        if not self.agent.alive():
            raise AssertionError(f"trail-agent exited: {self.agent.text()}")
        return REGISTERED.search(self.agent.text())


@pytest.fixture
def start_agent(hub, tmp_path):
    """``start_agent(name)``: a trail-agent device polling ``hub`` often; stopped after the test."""
    started: list[Agent] = []

    def start(name: str = "device") -> AgentDevice:
        agent = Agent(
            tmp_path / name, hub.url, "--poll-interval", "0.3", "--meta-interval", "1"
        ).start()
        started.append(agent)
        return AgentDevice(agent)

    yield start
    for agent in started:
        agent.stop()


@pytest.fixture
def trail_cli(hub, tmp_path):
    """``trail_cli(*args, cwd=..., stdin=...)``: run the ``trail`` CLI with a private config."""
    config = tmp_path / "trail-config"
    env = {**os.environ, "TRAIL_CONFIG_DIR": str(config), "TRAIL_HUB": hub.url}

    def run(*args: str, cwd: Path | None = None, stdin: str | None = None) -> str:
        result = subprocess.run(
            [sys.executable, "-c", CLI, *args],
            cwd=cwd or tmp_path,
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, f"trail {' '.join(args)}: {result.stdout}{result.stderr}"
        return result.stdout

    return run


#: What seeds written for :func:`shell` start with: ``people`` by nick, ``upload(owner,
#: data)`` (an object of ``owner``'s, its sha) and ``public_device(owner, nick)``.
SEED_PRELUDE = """
import copy, hashlib, io
from django.contrib.auth import get_user_model
from community import services as community
from devices.models import Device, new_secret
from revisions import services as revisions

people = {user.username: user for user in get_user_model().objects.all()}

def upload(owner, data):
    sha = hashlib.sha256(data).hexdigest()
    grant = revisions.request_upload(owner, sha, len(data))
    if grant.kind == "pending":
        revisions.receive_upload(grant.id, sha, len(data), io.BytesIO(data), len(data))
    return sha

def public_device(owner, nick):
    made = Device(owner=owner, nick=nick, public=True)
    made.set_secret(new_secret())
    made.save()
    return made
"""


def shell(hub: LiveHub, code: str) -> str:
    """Run ``code`` in a ``manage.py shell`` on ``hub``'s database and settings, and return
    what it printed: a fleet written through the services in seconds, for tests whose
    point is how pages read it."""
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=REPO,
        env=hub.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def claim(hub: LiveHub, token: str, device: AgentDevice) -> None:
    """Claim through the API (for tests whose point is elsewhere)."""
    response = httpx.put(
        f"{hub.url}/devices/{device.id}",
        params={"challenge": device.challenge},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text


def step(hub: LiveHub, token: str, device_id: str, rev: int) -> dict | None:
    """Revision ``rev`` as the API shows it, or None while it does not exist."""
    response = httpx.get(
        f"{hub.url}/trails/{device_id}/steps/{rev}", headers={"Authorization": f"Bearer {token}"}
    )
    return response.json() if response.status_code == 200 else None


def log_in(page, hub: LiveHub, nick: str, password: str = PASSWORD) -> None:
    page.goto(f"{hub.url}/accounts/login/")
    page.fill("input[name=username]", nick)
    page.fill("input[name=password]", password)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{hub.url}/dashboard/")
