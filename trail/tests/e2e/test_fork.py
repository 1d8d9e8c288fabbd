"""`trail fork`: someone else's public device becomes a device of yours, to clone and post to."""

from __future__ import annotations

import secrets

import httpx
import pytest

from trail.tests.e2e.conftest import PASSWORD, Trail, step_of

pytestmark = pytest.mark.e2e


def test_forking_a_public_device_then_posting_to_the_fork(
    live, alice, start_device, tmp_path, capsys, monkeypatch
):
    device = start_device()
    public = httpx.put(
        f"{live.url}/devices/{device.id}/public",
        headers={"Authorization": f"Bearer {alice.token}"},
    )
    assert public.status_code == 200, public.text
    source = f"alice/{device.nick}"
    nick = f"bob{secrets.token_hex(3)}"
    token = live.signup(nick, PASSWORD)
    bob = Trail(live, tmp_path / "bob-config", capsys, monkeypatch)
    bob("login", "--username", nick, "--password-stdin", stdin=PASSWORD + "\n")
    fork = f"{nick}/{device.nick}"

    forked = bob("fork", source)
    assert forked.out.splitlines() == [
        f"forked {source} rev 0 into {fork} as its rev 0",
        f"{fork} runs on no hardware yet; `trail clone {fork}` to change it,"
        " `trail post` to send your changes",
    ]
    again = bob("fork", source, ok=False)
    assert again.code == 1
    assert f"you already have a device called '{device.nick}'" in again.err
    assert f"`trail fork {source} NICK` names the fork" in again.err
    bob("fork", f"{live.url}/u/{source}/", "lab", "--rev", "0")  # a page's URL will do

    # The fork is bob's to change: its objects are linked to him, so only the new one goes up.
    bob("clone", fork, "mine", cwd=tmp_path)
    wc = tmp_path / "mine"
    (wc / "_config/pv-avahi/etc/hostname").write_text("bob's kiosk\n")
    bob("commit", "-m", "mine now", cwd=wc)
    posted = bob("post", cwd=wc)
    assert f"posted rev 1 of {fork}" in posted.out
    assert "uploaded 1 object" in posted.out + posted.err

    into = bob("fork", source, "--into", "lab")
    assert into.out.splitlines() == [f"forked {source} rev 0 into {nick}/lab as its rev 1"]
    lab = live.get(f"/devices/np/{nick}/lab", token)
    assert step_of(live, token, lab["id"], 1)["commit-msg"] == f"Fork of {source} at revision 0"
    forks = live.get(f"/devices/{device.id}/forks", token)["forks"]
    assert sorted((f["device"]["nick"], f["rev"]) for f in forks) == sorted(
        [(device.nick, 0), ("lab", 0), ("lab", 1)]
    )

    both = bob("fork", source, "other", "--into", "lab", ok=False)
    assert both.code == 1 and "not both" in both.err
