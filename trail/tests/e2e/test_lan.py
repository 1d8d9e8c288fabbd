"""Devices on the LAN: two ``trail-agent --mdns`` processes, a hub and ``trail device scan``,
all inside a network namespace this test makes (only its loopback, multicast on), so
no packet leaves the machine.

The records are pv-avahi's (pantavisor/meta-pantavisor
recipes-containers/pantavisor/pv-avahi/pv-avahi-start.sh lines 35-56 at 7d1f4b5:
TXT device-id, challenge while unclaimed, pantahub; ssh.service: _ssh._tcp port
8222), read as pvr reads them (pantacor/pvr libpvr/devlib.go lines 43-48, 77-86 and
110 at 09601ee: browse _ssh._tcp, a challenge means unclaimed).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import secrets
import subprocess
from collections.abc import Iterator

import pytest

from testsupport.live import Agent, LiveHub, wait_for
from trail.lan import PORT
from trail.tests.e2e.conftest import PASSWORD, Trail

pytestmark = pytest.mark.e2e

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, os.strerror(errno))


@contextlib.contextmanager
def inside(namespace: str) -> Iterator[None]:
    """This thread in ``namespace``: the sockets it opens and the processes it starts
    are there (setns moves only the calling thread; Python 3.11 has no os.setns)."""
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(f"/run/netns/{namespace}", os.O_RDONLY)
    try:
        _setns(target)
        try:
            yield
        finally:
            _setns(home)
    finally:
        os.close(target)
        os.close(home)


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


@pytest.fixture
def netns() -> Iterator[str]:
    """A network namespace with only its loopback, up and able to carry mDNS multicast."""
    name = f"trailtest-{secrets.token_hex(4)}"
    ip("netns", "add", name)
    try:
        ip("-n", name, "link", "set", "lo", "up")
        ip("-n", name, "link", "set", "lo", "multicast", "on")
        ip("-n", name, "route", "add", "224.0.0.0/4", "dev", "lo")
        yield name
    finally:
        ip("netns", "delete", name)


@pytest.fixture
def lan(netns, tmp_path, capsys, monkeypatch):
    """A hub inside the namespace and a ``trail`` logged in to it; the test body runs
    inside the namespace too."""
    with inside(netns):
        hub = LiveHub(tmp_path / "hub")
        hub.migrate()
        hub.start()
        agents: list[Agent] = []
        try:
            run = Trail(hub, tmp_path / "config", capsys, monkeypatch)
            hub.signup("lan", PASSWORD)
            run("login", "--username", "lan", "--password-stdin", stdin=PASSWORD + "\n")
            yield hub, run, agents
        finally:
            for agent in agents:
                agent.stop()
            hub.stop()


def scan(run: Trail) -> dict[str, dict]:
    heard = json.loads(run("device", "scan", "--json", "--timeout", "1.5").out)
    return {device["id"]: device for device in heard}


def test_device_scan_finds_two_agents_and_claims_from_what_it_heard(lan, tmp_path):
    hub, run, agents = lan
    one = Agent(tmp_path / "one", hub.url, "--mdns", "--poll-interval", "0.2")
    two = Agent(
        tmp_path / "two", hub.url, "--mdns", "--mdns-address", "127.0.0.2", "--poll-interval", "0.2"
    )
    agents += [one.start(), two.start()]
    ids = {}
    for agent in agents:
        ids[agent] = wait_for(
            "the agent to register",
            lambda agent=agent: json.loads((agent.home / "device.json").read_text()),
        )

    heard = wait_for(
        "both agents to be heard",
        lambda: (found := scan(run)) and all(i["id"] in found for i in ids.values()) and found,
    )
    first, second = (heard[ids[agent]["id"]] for agent in (one, two))
    # The namespace has only its loopback: the default address is 127.0.0.1.
    assert first["addresses"] == ["127.0.0.1"]
    assert second["addresses"] == ["127.0.0.2"]
    for agent, device in ((one, first), (two, second)):
        assert device["claimed"] is False
        assert device["challenge"] == ids[agent]["challenge"]
        assert device["hub"] == hub.url
        assert device["port"] == PORT

    # The table tells how to claim; --scan takes the challenge from the LAN.
    table = run("device", "scan", "--timeout", "1.5").out
    assert f"claim {first['id']}: trail claim --hub {hub.url} -c {first['challenge']}" in table
    claimed = run("claim", "--scan", "--timeout", "1.5", first["id"]).out
    assert f"claimed device {first['id']}" in claimed

    heard = wait_for(
        "the claimed agent to publish that it is claimed",
        lambda: (found := scan(run)) and found.get(first["id"], {}).get("claimed") and found,
    )
    assert heard[first["id"]]["challenge"] is None
    assert heard[second["id"]]["claimed"] is False
    assert "owned by lan" in one.text()

    # The other, with the command the table printed for it.
    line = next(
        line
        for line in run("device", "scan", "--timeout", "1.5").out.splitlines()
        if line.startswith(f"claim {second['id']}: ")
    )
    command = line.split(": ", 1)[1].split()
    assert command[:2] == ["trail", "claim"]
    run(*command[1:])
    wait_for(
        "the second agent to publish that it is claimed",
        lambda: scan(run).get(second["id"], {}).get("claimed"),
    )

    # An agent that stops says goodbye: the next scan no longer lists it.
    two.stop()
    wait_for("the stopped agent to be gone", lambda: second["id"] not in scan(run))
    assert first["id"] in scan(run)
