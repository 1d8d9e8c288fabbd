"""The whole loop against a live hub: claim, clone, change, post, install, roll back."""

from __future__ import annotations

import json
import os

import httpx
import pytest

from testsupport.live import wait_for
from trail.tests.e2e.conftest import post_state, status_of, tree_files, wait_status

pytestmark = pytest.mark.e2e


def test_it_updates_a_device_from_a_clone(live, alice, trail, start_device, tmp_path):
    device = start_device()
    trail("clone", f"alice/{device.nick}", "kiosk", cwd=tmp_path)
    wc = tmp_path / "kiosk"
    assert tree_files(wc) == tree_files(device.home / "trails/0")

    (wc / "_config/pv-avahi/etc/hostname").write_text("kiosk\n")
    (wc / "_config/pv-avahi/etc/motd").write_text("welcome\n")
    status = trail("status", cwd=wc).out
    assert "M _config/pv-avahi/etc/hostname" in status
    assert "? _config/pv-avahi/etc/motd" in status
    trail("add", "_config/pv-avahi/etc/motd", cwd=wc)
    trail("commit", "-m", "call it kiosk", cwd=wc)
    posted = trail("post", cwd=wc).out
    assert "posted rev 1" in posted

    step = wait_status(live, alice.token, device.id, 1, "DONE")
    assert step["commit-msg"] == "call it kiosk"
    wait_for("the device to run rev 1", lambda: device.current() == 1)
    installed = tree_files(device.home / "trails/1")
    assert installed == tree_files(wc)
    assert installed["_config/pv-avahi/etc/hostname"] == b"kiosk\n"
    assert "rev 1: DOWNLOADING" in device.agent.text()
    meta = wait_for(
        "device-meta to name rev 1",
        lambda: (
            (m := live.get(f"/devices/{device.id}", alice.token)["device-meta"])
            and m.get("trail-agent.revision") == "1"
            and m
        ),
    )
    assert meta["trail-agent.version"]
    log = trail("log", cwd=wc).out
    assert "rev 1" in log and "DONE" in log and "call it kiosk" in log


def test_it_rolls_back_a_revision_whose_try_boot_fails(live, alice, trail, start_device, tmp_path):
    device = start_device()
    trail("clone", f"alice/{device.nick}", "wc", cwd=tmp_path)
    wc = tmp_path / "wc"
    (wc / "trail-agent").mkdir()
    (wc / "trail-agent/health.json").write_text(json.dumps({"fail": True}))
    (wc / "_config/pv-avahi/etc/hostname").write_text("doomed\n")
    trail("add", "trail-agent", cwd=wc)
    trail("commit", "-m", "this one fails", cwd=wc)
    trail("post", cwd=wc)

    step = wait_status(live, alice.token, device.id, 1, "ERROR")
    assert "health check failed" in step["progress"]["status-msg"]
    assert device.current() == 0  # still running the factory revision
    assert device.agent.alive()
    assert json.loads((device.home / "agent-state.json").read_text())["running"] == 0

    # Rolling back on purpose: post the good state again, as a new revision.
    trail("checkout", "0", "--force", cwd=wc)
    assert not (wc / "trail-agent").exists()
    trail("post", "-m", "back to the factory state", cwd=wc)
    wait_status(live, alice.token, device.id, 2, "DONE")
    wait_for("the device to run rev 2", lambda: device.current() == 2)
    assert tree_files(device.home / "trails/2") == tree_files(device.home / "trails/0")


def test_a_revision_the_bootloader_cannot_commit_is_done_then_error(
    live, alice, trail, start_device, tmp_path
):
    """DONE, then ERROR when the commit fails (pantavisor update/update.c:888-893); the
    device stays on its last good revision, and the next revision still gets through."""
    device = start_device()
    trail("clone", f"alice/{device.nick}", "wc", cwd=tmp_path)
    wc = tmp_path / "wc"
    (wc / "trail-agent").mkdir()
    (wc / "trail-agent/health.json").write_text(json.dumps({"commit": "fail"}))
    trail("add", "trail-agent", cwd=wc)
    trail("commit", "-m", "cannot be committed", cwd=wc)
    trail("post", cwd=wc)

    step = wait_status(live, alice.token, device.id, 1, "ERROR")
    assert "could not be committed" in step["progress"]["status-msg"]
    assert device.current() == 0
    trail("checkout", "0", "--force", cwd=wc)
    trail("post", "-m", "without the fault", cwd=wc)
    wait_status(live, alice.token, device.id, 2, "DONE")


def test_the_hub_refuses_a_state_no_device_can_install(live, alice, start_device):
    device = start_device()
    state = live.get(f"/trails/{device.id}/steps/0", alice.token)["state"]
    sha = state["bsp/kernel.img"]
    # Valid keys, but "bsp/kernel.img" cannot be a file and a directory at once:
    # the hub runs the check the agent runs, so the device never meets it.
    bad = {**state, "bsp/kernel.img/extra": sha}
    response = httpx.post(
        f"{live.url}/trails/{device.id}/steps",
        json={"rev": -1, "commit-msg": "impossible tree", "state": bad},
        headers={"Authorization": f"Bearer {alice.token}"},
    )
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "bad-key"
    assert 'lies inside "bsp/kernel.img"' in response.json()["error"]
    assert device.current() == 0


def test_a_second_clone_moves_no_object_bytes(live, trail, start_device, tmp_path, monkeypatch):
    device = start_device()
    import trail.cli.transfer as transfer

    moved = []
    real = transfer.download

    async def counting(*args, **kwargs):
        moved.append(await real(*args, **kwargs))
        return moved[-1]

    monkeypatch.setattr(transfer, "download", counting)
    first = trail("clone", f"alice/{device.nick}", "one", cwd=tmp_path)
    assert sum(moved) > 0 and "downloaded" in first.err
    moved.clear()
    second = trail("clone", f"{live.url}/trails/{device.id}", "two", cwd=tmp_path)
    assert moved == []
    assert "are in the cache" in second.err
    third = trail("clone", f"{live.url}/u/alice/{device.nick}/", "three", cwd=tmp_path)
    assert moved == [] and "are in the cache" in third.err
    assert tree_files(tmp_path / "one") == tree_files(tmp_path / "two")
    assert tree_files(tmp_path / "one") == tree_files(tmp_path / "three")


def test_it_reads_user_meta_and_logs_its_updates(live, alice, trail, start_device, tmp_path):
    device = start_device("meta", None, "--meta-interval", "0.3")
    trail("device", "set", device.id, "site=lab", "shelf=3")
    meta = wait_for(
        "the agent to read user-meta",
        lambda: json.loads((device.home / "user-meta.json").read_text()).get("site") and True,
    )
    assert meta
    assert json.loads((device.home / "user-meta.json").read_text()) == {"site": "lab", "shelf": "3"}
    listed = trail("device", "list").out
    assert device.id in listed and device.nick in listed
    assert "runs rev 0" in listed
    logs = trail("device", "logs", device.id).out
    assert "INFO  trail-agent: rev 0: running the factory state" in logs


def test_many_devices_run_in_one_process(live, alice, tmp_path):
    import httpx

    from testsupport.live import Agent

    token = httpx.post(
        f"{live.url}/devices/tokens",
        json={"description": "factory line 1", "default-user-meta": {"line": "1"}},
        headers={"Authorization": f"Bearer {alice.token}"},
    ).json()["token"]
    agent = Agent(
        tmp_path / "fleet",
        live.url,
        "--count", "3", "--auto-token", token, "--poll-interval", "0.2",
    ).start()  # fmt: skip
    try:
        homes = [tmp_path / "fleet" / f"device-000{i}" for i in (1, 2, 3)]
        wait_for(
            "three devices to run their factory state",
            lambda: all((home / "current").is_file() for home in homes),
        )
        ids = [json.loads((home / "device.json").read_text())["id"] for home in homes]
        assert len(set(ids)) == 3
        for device_id in ids:
            device = live.get(f"/devices/{device_id}", alice.token)
            assert device["owner-nick"] == "alice"
            assert device["user-meta"] == {"line": "1"}
            assert status_of(live, alice.token, device_id, 0) == "DONE"
        assert agent.alive()
    finally:
        agent.stop()


def test_the_cli_and_the_agent_install_the_same_tree(live, alice, trail, start_device, tmp_path):
    device = start_device()
    trail("clone", device.id, "c", cwd=tmp_path)
    assert tree_files(tmp_path / "c") == tree_files(device.home / "trails/0")
    assert os.path.isfile(device.home / "trails/0/.pvr/json")


def test_a_listening_agent_hears_of_a_revision_before_its_next_poll(live, alice, tmp_path):
    import httpx

    from testsupport.live import Agent
    from trail.tests.e2e.conftest import step_of

    token = httpx.post(
        f"{live.url}/devices/tokens",
        json={"description": "listeners"},
        headers={"Authorization": f"Bearer {alice.token}"},
    ).json()["token"]
    agent = Agent(
        tmp_path / "ear", live.url, "--auto-token", token, "--listen", "--poll-interval", "120"
    ).start()
    try:
        wait_for("the factory revision to run", lambda: (tmp_path / "ear/current").is_file())
        device_id = json.loads((tmp_path / "ear/device.json").read_text())["id"]
        state = step_of(live, alice.token, device_id, 0)["state"]
        state["_config/pv-avahi/etc/motd.json"] = {"motd": "heard"}
        rev = post_state(live, alice.token, device_id, state, "no need to wait two minutes")
        wait_status(live, alice.token, device_id, rev, "DONE", timeout=30)
        assert "listening:" not in agent.text()  # the socket never failed
    finally:
        agent.stop()
