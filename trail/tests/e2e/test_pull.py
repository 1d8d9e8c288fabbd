"""`trail pull` against a live hub: two working copies of one device post in turn; the
second is told to pull, merges cleanly, then a text conflict (marked line by line) is
resolved and posted."""

from __future__ import annotations

import hashlib

import httpx
import pytest

from trail.tests.e2e.conftest import step_of

pytestmark = pytest.mark.e2e

HOSTNAME = "_config/pv-avahi/etc/hostname"
LXC = "pv-avahi/lxc.container.conf"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_two_working_copies_post_in_turn_through_pull(live, alice, trail, start_device, tmp_path):
    device = start_device()
    trail("clone", f"alice/{device.nick}", "one", cwd=tmp_path)
    trail("clone", f"alice/{device.nick}", "two", cwd=tmp_path)
    one, two = tmp_path / "one", tmp_path / "two"

    (one / HOSTNAME).write_text("kiosk\n")
    trail("commit", "-m", "call it kiosk", cwd=one)
    trail("post", cwd=one)
    lxc = (two / LXC).read_bytes()
    (two / LXC).write_bytes(lxc + b"lxc.mount.entry = /data data none bind 0 0\n")
    trail("commit", "-m", "mount data", cwd=two)

    # The hub has rev 1, which two never saw: post says to pull and posts nothing.
    refused = trail("post", cwd=two, ok=False)
    assert refused.code == 1
    assert refused.err.splitlines()[-1].startswith(
        "trail: error: the device has revision 1 that this working copy does not have: "
        "run `trail pull`, then post"
    )
    rev_2 = httpx.get(
        f"{live.url}/trails/{device.id}/steps/2",
        headers={"Authorization": f"Bearer {alice.token}"},
    )
    assert rev_2.status_code == 404

    pulled = trail("pull", cwd=two)
    assert pulled.out.splitlines() == [
        f"M {HOSTNAME}",
        f"merged rev 1 of alice/{device.nick} into HEAD: `trail post` sends the merge as rev 2",
    ]
    assert (two / HOSTNAME).read_text() == "kiosk\n"
    trail("post", cwd=two)
    rev_2 = step_of(live, alice.token, device.id, 2)
    assert rev_2["state"][HOSTNAME] == sha(b"kiosk\n")
    assert rev_2["state"][LXC] == sha(lxc + b"lxc.mount.entry = /data data none bind 0 0\n")
    assert rev_2["commit-msg"] == "mount data\nmerge rev 1"

    # One changes the same file: a conflict, with markers, until it is resolved.
    (one / LXC).write_bytes(lxc + b"lxc.tty.max = 1\n")
    trail("commit", "-m", "a tty", cwd=one)
    conflicted = trail("pull", cwd=one, ok=False)
    assert conflicted.code == 1
    assert f"C {LXC}  (both changed it: conflict markers in the file)" in conflicted.out
    # Only the lines both added are marked: the file merges line by line from the base.
    assert (one / LXC).read_bytes() == lxc + (
        b"<<<<<<< ours\nlxc.tty.max = 1\n=======\n"
        b"lxc.mount.entry = /data data none bind 0 0\n>>>>>>> theirs (rev 2)\n"
    )
    assert "conflicts (" in trail("status", cwd=one).out
    assert trail("post", cwd=one, ok=False).code == 1

    resolved = lxc + b"lxc.mount.entry = /data data none bind 0 0\nlxc.tty.max = 1\n"
    (one / LXC).write_bytes(resolved)
    trail("resolve", LXC, cwd=one)
    trail("commit", "-m", "both", cwd=one)
    trail("post", cwd=one)
    rev_3 = step_of(live, alice.token, device.id, 3)
    assert rev_3["state"][LXC] == sha(resolved)
    assert rev_3["state"][HOSTNAME] == sha(b"kiosk\n")
