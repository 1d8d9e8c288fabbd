"""End-to-end fixtures: a live Trailhub server, a logged-in ``trail``, running agents."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from testsupport.live import Agent, LiveHub, wait_for
from trail.cli import main as trail_main

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="session")
def live(tmp_path_factory):
    hub = LiveHub(tmp_path_factory.mktemp("hub"))
    hub.migrate()
    hub.start()
    yield hub
    hub.stop()


@pytest.fixture(autouse=True)
def _server_is_up(live):
    # A test that stopped the server must not take the others down with it.
    if live.process is None:
        live.start()


@dataclass
class Person:
    nick: str
    password: str
    token: str


@pytest.fixture(scope="session")
def alice(live) -> Person:
    return Person("alice", PASSWORD, live.signup("alice", PASSWORD))


@dataclass
class Result:
    code: int
    out: str
    err: str


class Trail:
    """Runs ``trail`` in this process (fast), as a user would from ``cwd``."""

    def __init__(self, live: LiveHub, config: Path, capsys, monkeypatch) -> None:
        self.live = live
        self.config = config
        self.capsys = capsys
        self.monkeypatch = monkeypatch
        monkeypatch.setenv("TRAIL_CONFIG_DIR", str(config))
        monkeypatch.setenv("TRAIL_HUB", live.url)

    def __call__(self, *argv: str, cwd: Path | None = None, stdin: str = "", ok=True) -> Result:
        self.capsys.readouterr()
        with self.monkeypatch.context() as m:
            m.setenv("TRAIL_CONFIG_DIR", str(self.config))  # two people take turns
            if cwd is not None:
                m.chdir(cwd)
            if stdin:
                import io

                m.setattr(sys, "stdin", io.StringIO(stdin))
            code = trail_main(list(argv))
        captured = self.capsys.readouterr()
        result = Result(code, captured.out, captured.err)
        if ok:
            assert code == 0, f"trail {' '.join(argv)} failed: {result.err}{result.out}"
        return result


@pytest.fixture
def trail(live, alice, tmp_path, capsys, monkeypatch) -> Trail:
    run = Trail(live, tmp_path / "config", capsys, monkeypatch)
    run("login", "--username", alice.nick, "--password-stdin", stdin=alice.password + "\n")
    return run


@dataclass
class Device:
    id: str
    nick: str
    agent: Agent

    @property
    def home(self) -> Path:
        return self.agent.home

    def current(self) -> int | None:
        try:
            return int((self.home / "current").read_text())
        except (FileNotFoundError, ValueError):
            return None


def step_of(live: LiveHub, token: str, device_id: str, rev: int) -> dict:
    return live.get(f"/trails/{device_id}/steps/{rev}", token)


def status_of(live: LiveHub, token: str, device_id: str, rev: int) -> str:
    return step_of(live, token, device_id, rev)["progress"]["status"]


def wait_status(live, token, device_id, rev, expected: str, timeout: float = 30) -> dict:
    def reached():
        step = step_of(live, token, device_id, rev)
        return step if step["progress"]["status"] == expected else None

    return wait_for(f"rev {rev} of {device_id} to be {expected}", reached, timeout)


@pytest.fixture
def start_device(live, alice, trail, tmp_path):
    """``start_device(name, hub_url=None, *extra_args)``: an agent, claimed from the CLI,
    with its factory state posted and running."""
    agents: list[Agent] = []

    def start(name: str = "dev", hub_url: str | None = None, *extra: str) -> Device:
        agent = Agent(tmp_path / name, hub_url or live.url, "--poll-interval", "0.2", *extra)
        agents.append(agent.start())
        identity = wait_for(
            "the agent to register",
            lambda: json.loads((agent.home / "device.json").read_text()),
        )
        trail("claim", "-c", identity["challenge"], identity["id"])
        device = Device(identity["id"], "", agent)
        wait_for("the factory revision to run", lambda: device.current() == 0)
        device.nick = live.get(f"/devices/{device.id}", alice.token)["nick"]
        return device

    yield start
    for agent in agents:
        agent.stop()


def tree_files(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` but trail's and Pantavisor's metadata, with its bytes."""
    from trail.tree import scan

    return {key: (root / key).read_bytes() for key in scan(root)}


def post_state(live: LiveHub, token: str, device_id: str, state: dict, msg: str) -> int:
    response = httpx.post(
        f"{live.url}/trails/{device_id}/steps",
        json={"rev": -1, "commit-msg": msg, "state": state},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    return response.json()["rev"]


def env_without_hub() -> dict:
    return {k: v for k, v in os.environ.items() if k != "TRAIL_HUB"}
