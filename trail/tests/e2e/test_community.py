"""Issue 22's walk-through, end to end: two people, three devices, a live hub, trail-agent.

Alice runs a device and makes it public. Bob forks it into a device without hardware
that leads a pack of his one real device, changes it, follows upstream: an upstream
change merges by itself (and reaches his real device through the pack); a conflicting
one stops following, and Bob merges it by hand after resolving it in his working copy
(`trail pull --upstream`). Then Bob proposes a revision back; Alice merges it and her
device installs it. docs/community.md walks through the same commands.
"""

from __future__ import annotations

import hashlib
import json
import secrets

import httpx
import pytest

from testsupport.live import Agent, wait_for
from trail.tests.e2e.conftest import PASSWORD, Device, Trail, step_of, wait_status

pytestmark = pytest.mark.e2e

HOSTNAME = "_config/pv-avahi/etc/hostname"
LXC = "pv-avahi/lxc.container.conf"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def call(live, token: str, method: str, path: str, body=None) -> dict:
    answer = httpx.request(
        method, f"{live.url}{path}", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code < 300, f"{method} {path}: {answer.status_code} {answer.text}"
    return answer.json()


def test_fork_follow_merge_by_hand_and_propose_back(
    live, alice, trail, start_device, tmp_path, capsys, monkeypatch
):
    upstream = start_device("alice-dev")
    call(live, alice.token, "PUT", f"/devices/{upstream.id}/public")
    source = f"alice/{upstream.nick}"

    nick = f"bob{secrets.token_hex(3)}"
    bob_token = live.signup(nick, PASSWORD)
    bob = Trail(live, tmp_path / "bob-config", capsys, monkeypatch)
    bob("login", "--username", nick, "--password-stdin", stdin=PASSWORD + "\n")
    fork = f"{nick}/kiosk"
    bob("fork", source, "kiosk")
    kiosk = call(live, bob_token, "GET", f"/devices/np/{nick}/kiosk")["id"]

    # Bob's one real device follows the fork through a pack.
    agent = Agent(tmp_path / "bob-dev", live.url, "--poll-interval", "0.2").start()
    try:
        identity = wait_for(
            "bob's agent to register", lambda: json.loads((agent.home / "device.json").read_text())
        )
        bob("claim", "-c", identity["challenge"], identity["id"])
        real = Device(identity["id"], "", agent)
        pack = call(live, bob_token, "POST", "/packs/", {"nick": "lobby", "leader": kiosk})
        call(live, bob_token, "PUT", f"/packs/{pack['id']}/followers/{real.id}")

        # Bob changes his fork and follows upstream.
        bob("clone", fork, "kiosk", cwd=tmp_path)
        wc = tmp_path / "kiosk"
        (wc / HOSTNAME).write_text("bob's kiosk\n")
        bob("commit", "-m", "name it", cwd=wc)
        bob("post", cwd=wc)
        wait_for("bob's device to run his change", lambda: real.current() == 1)
        followed = bob("upstream", "follow", cwd=wc)
        assert followed.out.strip() == (
            f"{fork} follows {source}: each revision it runs is merged by itself"
        )

        # Alice changes another file: once her device runs it, the fork merges it by itself.
        trail("clone", source, "alice-wc", cwd=tmp_path)
        mine = tmp_path / "alice-wc"
        lxc = (mine / LXC).read_bytes() + b"lxc.mount.auto = proc sys\n"
        (mine / LXC).write_bytes(lxc)
        trail("commit", "-m", "mount proc", cwd=mine)
        trail("post", "--wait", cwd=mine)
        merged = wait_for(
            "the fork to merge upstream rev 1",
            lambda: _rev_with(live, bob_token, kiosk, "Merge upstream"),
        )
        assert merged["commit-msg"] == f"Merge upstream {source} rev 1"
        assert merged["state"][LXC] == sha(lxc)
        assert merged["state"][HOSTNAME] == sha(b"bob's kiosk\n")
        wait_for("the merge to reach bob's device", lambda: real.current() == 2)

        # Alice renames her device: both changed the hostname, so following stops.
        (mine / HOSTNAME).write_text("alice's kiosk\n")
        trail("commit", "-m", "rename", cwd=mine)
        trail("post", "--wait", cwd=mine)

        def stopped_following():
            answer = call(live, bob_token, "GET", f"/trails/{kiosk}/upstream")
            return answer if answer["notice"] else None

        stopped = wait_for("following to stop", stopped_following)
        assert not stopped["follow"] and stopped["behind"] == 1
        shown = bob("upstream", "show", cwd=wc)
        assert "took in rev 1, upstream is at rev 2 (1 behind)" in shown.out
        assert "Stopped following at upstream revision 2" in shown.out
        refused = bob("upstream", "merge", cwd=wc, ok=False)
        assert "trail pull --upstream" in refused.err

        # Bob merges it by hand: his working copy takes in the fork's merge, then upstream's.
        bob("pull", cwd=wc)
        pulled = bob("pull", "--upstream", cwd=wc, ok=False)
        assert pulled.code == 1 and f"C {HOSTNAME}" in pulled.out
        text = (wc / HOSTNAME).read_text()
        assert "<<<<<<< ours" in text and f">>>>>>> theirs (upstream {source} rev 2)" in text
        (wc / HOSTNAME).write_text("bob's kiosk, after alice's\n")
        bob("resolve", HOSTNAME, cwd=wc)
        bob("commit", "-m", "keep both names", cwd=wc)
        posted = bob("post", cwd=wc)
        assert posted.out.strip().endswith(f"Merge upstream {source} rev 2")
        after = call(live, bob_token, "GET", f"/trails/{kiosk}/upstream")
        assert (after["base-rev"], after["behind"]) == (2, 0)
        by_hand = step_of(live, bob_token, kiosk, 3)
        assert by_hand["state"][HOSTNAME] == sha(b"bob's kiosk, after alice's\n")
        wait_for("the hand merge to reach bob's device", lambda: real.current() == 3)

        # Bob proposes a change back; Alice merges it and her device installs it.
        (wc / "pv-avahi/motd").write_text("welcome\n")
        bob("add", "pv-avahi/motd", cwd=wc)
        bob("commit", "-m", "a welcome", cwd=wc)
        bob("post", cwd=wc)
        proposed = bob("propose", source, "-m", "A welcome and a name", cwd=wc)
        assert proposed.out.splitlines()[0] == (f"proposed {fork} rev 4 to {source} as proposal #1")
        proposal = call(live, alice.token, "GET", f"/trails/{upstream.id}/proposals/1")
        assert proposal["mergeable"] is True
        done = call(live, alice.token, "POST", f"/trails/{upstream.id}/proposals/1/merge")
        installed = done["revision"]
        assert "proposal #1" in installed["commit-msg"]
        assert installed["state"]["pv-avahi/motd"] == sha(b"welcome\n")
        assert installed["state"][HOSTNAME] == sha(b"bob's kiosk, after alice's\n")
        wait_status(live, alice.token, upstream.id, installed["rev"], "DONE")
        assert upstream.current() == installed["rev"]
        assert call(live, alice.token, "GET", f"/trails/{upstream.id}/proposals/1")["status"] == (
            "merged"
        )
    finally:
        agent.stop()


def _rev_with(live, token: str, trail_id: str, message: str) -> dict | None:
    steps = httpx.get(
        f"{live.url}/trails/{trail_id}/steps", headers={"Authorization": f"Bearer {token}"}
    ).json()
    return next((s for s in steps if s["commit-msg"].startswith(message)), None)
