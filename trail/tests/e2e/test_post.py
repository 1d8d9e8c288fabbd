"""`trail post`: to a device someone else owns (refused before any upload, with the way
on), and `--wait`, which follows the device's progress to the end."""

from __future__ import annotations

import hashlib
import json
import secrets
import time

import httpx
import pytest

from trail.tests.e2e.conftest import PASSWORD, Trail, step_of

pytestmark = pytest.mark.e2e


def test_posting_to_a_device_you_do_not_own_uploads_nothing_and_suggests_forking(
    live, alice, trail, start_device, tmp_path, capsys, monkeypatch
):
    device = start_device()
    made_public = httpx.put(
        f"{live.url}/devices/{device.id}/public",
        headers={"Authorization": f"Bearer {alice.token}"},
    )
    assert made_public.status_code == 200, made_public.text
    live.signup("bob", PASSWORD)
    bob = Trail(live, tmp_path / "bob-config", capsys, monkeypatch)
    bob("login", "--username", "bob", "--password-stdin", stdin=PASSWORD + "\n")
    bob("clone", f"alice/{device.nick}", "kiosk", cwd=tmp_path)
    wc = tmp_path / "kiosk"
    content = f"bob's kiosk {secrets.token_hex(16)}\n".encode()
    (wc / "_config/pv-avahi/etc/hostname").write_bytes(content)
    bob("commit", "-m", "mine now", cwd=wc)

    refused = bob("post", cwd=wc, ok=False)

    assert refused.code == 1
    assert f"alice/{device.nick} is alice's device: only alice" in refused.err
    assert "nothing was uploaded" in refused.err
    assert f"{live.url}/u/alice/{device.nick}/ and press Fork" in refused.err
    sha = hashlib.sha256(content).hexdigest()
    assert not [p for p in live.objects_dir.rglob("*") if sha in p.name]
    rev_1 = httpx.get(
        f"{live.url}/trails/{device.id}/steps/1",
        headers={"Authorization": f"Bearer {alice.token}"},
    )
    assert rev_1.status_code == 404


def test_post_wait_follows_the_revision_to_the_end_and_exits_by_its_outcome(
    live, alice, trail, start_device, tmp_path
):
    """0 when the device runs the revision, 1 when it fails it, 1 with the status it is
    still in when the timeout comes first; each move is one line, as it happens."""
    device = start_device()
    trail("clone", f"alice/{device.nick}", "wc", cwd=tmp_path)
    wc = tmp_path / "wc"
    (wc / "_config/pv-avahi/etc/hostname").write_text("kiosk\n")
    trail("commit", "-m", "call it kiosk", cwd=wc)

    done = trail("post", "--wait", cwd=wc)
    lines = done.out.splitlines()
    assert lines[0].startswith("posted rev 1 of ")
    assert lines[-1].startswith("rev 1: DONE 100%")
    assert step_of(live, alice.token, device.id, 1)["progress"]["status"] == "DONE"
    assert len(lines) == len(set(lines))  # a status is told once, not at every poll

    (wc / "trail-agent").mkdir()
    (wc / "trail-agent/health.json").write_text(json.dumps({"fail": True}))
    trail("add", "trail-agent", cwd=wc)
    trail("commit", "-m", "this one fails", cwd=wc)
    failed = trail("post", "--wait", cwd=wc, ok=False)
    assert failed.code == 1
    last = failed.out.splitlines()[-1]
    assert last.startswith("rev 2: ERROR ") and "health check failed" in last
    assert failed.err == ""  # the outcome is the device's, not an error of trail's

    device.agent.stop()  # nobody picks the next one up
    trail("checkout", "1", "--force", cwd=wc)
    started = time.monotonic()
    late = trail("post", "-m", "nobody listens", "--wait", "--timeout", "0", cwd=wc, ok=False)
    assert time.monotonic() - started < 3  # one look at the revision, then it gives up
    assert late.code == 1
    assert late.out.splitlines()[-1] == "rev 3: NEW 0%"
    assert late.err == "trail: error: rev 3 is still NEW after 0s\n"
    assert step_of(live, alice.token, device.id, 3)["progress"]["status"] == "NEW"  # posted
