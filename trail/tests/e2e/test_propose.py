"""`trail propose`: a fork's revision proposed back to the device it came from, which its
owner merges as a new revision authored by the proposer."""

from __future__ import annotations

import secrets

import httpx
import pytest

from trail.tests.e2e.conftest import PASSWORD, Trail, step_of

pytestmark = pytest.mark.e2e


def test_a_fork_proposes_its_change_back_and_the_owner_merges_it(
    live, alice, start_device, tmp_path, capsys, monkeypatch
):
    device = start_device()
    auth = {"Authorization": f"Bearer {alice.token}"}
    assert httpx.put(f"{live.url}/devices/{device.id}/public", headers=auth).status_code == 200
    target = f"alice/{device.nick}"
    nick = f"bob{secrets.token_hex(3)}"
    live.signup(nick, PASSWORD)
    bob = Trail(live, tmp_path / "bob-config", capsys, monkeypatch)
    bob("login", "--username", nick, "--password-stdin", stdin=PASSWORD + "\n")
    bob("fork", target)
    fork = f"{nick}/{device.nick}"
    bob("clone", fork, "mine", cwd=tmp_path)
    wc = tmp_path / "mine"
    (wc / "_config/pv-avahi/etc/hostname").write_text("the lobby kiosk\n")
    bob("commit", "-m", "name it", cwd=wc)

    unposted = bob("propose", target, "-m", "Name the kiosk", cwd=wc, ok=False)
    assert unposted.code == 1 and "`trail post` them first" in unposted.err

    bob("post", cwd=wc)
    proposed = bob("propose", target, "-m", "Name the kiosk", "--body", "So we find it.", cwd=wc)
    assert proposed.out.splitlines() == [
        f"proposed {fork} rev 1 to {target} as proposal #1",
        f"{live.url}/u/{target}/proposals/1/",
    ]
    again = bob("propose", target, "-m", "Again", cwd=wc, ok=False)
    assert again.code == 1 and "proposed to" in again.err and "already" in again.err

    shown = httpx.get(f"{live.url}/trails/{device.id}/proposals/1").json()
    assert (shown["proposer"], shown["mergeable"], shown["body"]) == (nick, True, "So we find it.")
    hostname = next(c for c in shown["diff"] if c["key"] == "_config/pv-avahi/etc/hostname")
    assert "+the lobby kiosk" in hostname["lines"]

    merged = httpx.post(f"{live.url}/trails/{device.id}/proposals/1/merge", headers=auth)
    assert merged.status_code == 201, merged.text
    step = step_of(live, alice.token, device.id, merged.json()["revision"]["rev"])
    assert step["commit-msg"] == "Merge proposal #1: Name the kiosk"
    # The merged revision's new object is alice's now: her device can download it.
    sha = step["state"]["_config/pv-avahi/etc/hostname"]
    blob = httpx.get(f"{live.url}/objects/{sha}/blob", headers=auth, follow_redirects=True)
    assert blob.status_code == 200 and blob.content == b"the lobby kiosk\n"
