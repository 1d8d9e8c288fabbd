"""What goes wrong on the way: interrupted downloads, a hub that goes away, bad bytes."""

from __future__ import annotations

import hashlib
import os

import pytest

from testsupport.live import wait_for
from trail.tests.e2e.conftest import Trail, tree_files, wait_status
from trail.tests.e2e.proxy import SlowProxy

pytestmark = pytest.mark.e2e

BIG = 3 * 1024 * 1024


@pytest.fixture
def proxy(live):
    proxy = SlowProxy(live.port).start()
    yield proxy
    proxy.stop()


def post_big_object(trail, device, tmp_path, name: str) -> tuple[str, bytes]:
    """Clone, add a multi-MB object of fresh random bytes, post it; return its sha and bytes."""
    trail("clone", device.id, name, cwd=tmp_path)
    data = os.urandom(BIG)
    (tmp_path / name / "app").mkdir()
    (tmp_path / name / "app/root.squashfs").write_bytes(data)
    trail("add", "app", cwd=tmp_path / name)
    trail("commit", "-m", "a big platform", cwd=tmp_path / name)
    trail("post", cwd=tmp_path / name)
    return hashlib.sha256(data).hexdigest(), data


def test_an_interrupted_download_resumes_where_it_stopped(
    live, alice, trail, start_device, proxy, tmp_path
):
    device = start_device("slow", proxy.url)
    proxy.rate = 512 * 1024
    sha, data = post_big_object(trail, device, tmp_path, "wc")
    part = device.home / "objects" / f"{sha}.part"
    wait_for(
        "part of the object to arrive", lambda: part.exists() and part.stat().st_size > 256 * 1024
    )
    device.agent.kill()  # a power cut in the middle of the download
    kept = part.stat().st_size
    assert 0 < kept < BIG
    assert not proxy.saw(b"range: bytes=")

    proxy.rate = None
    device.agent.start()
    wait_status(live, alice.token, device.id, 1, "DONE")
    assert proxy.saw(b"range: bytes=%d-" % kept)
    assert proxy.answered(206)  # the hub sent only the rest
    installed = device.home / "trails/1/app/root.squashfs"
    assert hashlib.sha256(installed.read_bytes()).hexdigest() == sha
    assert not part.exists()


def test_the_agent_rides_out_a_hub_that_goes_away_mid_update(
    live, alice, trail, start_device, proxy, tmp_path
):
    device = start_device("patient", proxy.url)
    proxy.rate = 512 * 1024
    sha, _ = post_big_object(trail, device, tmp_path, "wc")
    part = device.home / "objects" / f"{sha}.part"
    wait_for("the download to start", lambda: part.exists() and part.stat().st_size > 0)

    live.stop()
    wait_for("the agent to notice", lambda: "retrying in" in device.agent.text(), timeout=30)
    assert device.agent.alive()
    proxy.rate = None
    live.start()  # same port, same database, same objects

    wait_status(live, alice.token, device.id, 1, "DONE", timeout=60)
    assert device.agent.alive()
    assert device.current() == 1
    assert tree_files(device.home / "trails/1") == tree_files(tmp_path / "wc")


def test_a_corrupted_object_is_refused_and_never_installed(
    live, alice, trail, start_device, tmp_path
):
    device = start_device("careful")
    device.agent.stop()  # so that the object can be spoiled before the device fetches it
    trail("clone", device.id, "wc", cwd=tmp_path)
    data = os.urandom(64 * 1024)
    sha = hashlib.sha256(data).hexdigest()
    (tmp_path / "wc/_config/pv-avahi/etc/hostname").write_bytes(data)
    trail("commit", "-m", "new hostname", cwd=tmp_path / "wc")
    trail("post", cwd=tmp_path / "wc")
    stored = live.objects_dir / sha[:2] / sha
    assert stored.read_bytes() == data
    stored.write_bytes(b"X" + data[1:])  # bit rot in the hub's storage

    device.agent.start()
    # ERROR from DOWNLOADING, as the mocker reports a sha mismatch
    # (pantavisor-mocker src/flows/update_flow.zig:312-315), after one start.
    step = wait_status(live, alice.token, device.id, 1, "ERROR")
    assert step["progress"]["retries"] == 1
    assert sha in step["progress"]["status-msg"]
    assert "refused" in step["progress"]["status-msg"]
    assert device.current() == 0
    assert not (device.home / "trails/1").exists()
    assert not (device.home / "objects" / sha).exists()
    assert not (device.home / "objects" / f"{sha}.part").exists()

    # The CLI refuses the same bytes, with a one-line error and a non-zero exit.
    fresh = Trail(live, tmp_path / "other-config", trail.capsys, trail.monkeypatch)  # no cache
    fresh("login", "--username", "alice", "--password-stdin", stdin=alice.password + "\n")
    result = fresh("clone", device.id, "again", cwd=tmp_path, ok=False)
    assert result.code == 1
    assert f"object {sha} from the hub has sha256" in result.err
    stored.write_bytes(data)


def test_a_restart_during_the_try_boot_finishes_the_update(
    live, alice, trail, start_device, tmp_path
):
    device = start_device("rebooting")
    trail("clone", device.id, "wc", cwd=tmp_path)
    (tmp_path / "wc/trail-agent").mkdir()
    (tmp_path / "wc/trail-agent/health.json").write_text('{"seconds": 3}')
    trail("add", "trail-agent", cwd=tmp_path / "wc")
    trail("commit", "-m", "slow to boot", cwd=tmp_path / "wc")
    trail("post", cwd=tmp_path / "wc")
    wait_status(live, alice.token, device.id, 1, "TESTING")
    device.agent.kill()  # the power goes while the new revision is on trial
    assert device.current() == 0
    installed = (device.home / "trails/1/.pvr/json").stat().st_mtime_ns

    device.agent.start()
    wait_status(live, alice.token, device.id, 1, "DONE", timeout=60)
    assert device.current() == 1
    # It went on from the installed tree instead of installing it again.
    assert (device.home / "trails/1/.pvr/json").stat().st_mtime_ns == installed
