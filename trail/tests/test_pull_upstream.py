"""`trail pull --upstream` and the `trail post` of its merge, against a fake hub over a real
socket that holds a fork (the working copy's device) and its upstream device.

The hub's side is community/api/upstream.py: ``GET /trails/<id>/upstream`` names the
upstream and the revision the fork last took in; ``POST …/upstream/merge`` with
``state`` and ``parent-rev`` posts the merge made by hand (409 ``moved`` when the fork
has a newer revision than ``parent-rev``).
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from trail.cli import main
from trail.tests import wire
from trail.tests.test_pull import BASE, TRAIL, FakeHub, run, sha
from trail.workcopy import WorkCopy

UPSTREAM = "6b0763e504336695eccf7200"


class ForkHub(FakeHub):
    """The fork (``TRAIL``, forked from upstream revision 0) and its upstream device."""

    def __init__(self) -> None:
        super().__init__()
        self.upstream = FakeHub()
        self.base_rev = 0
        self.merges: list[dict[str, Any]] = []

    def _answer(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == f"/trails/{TRAIL}/upstream":
            head = len(self.upstream.steps) - 1
            return httpx.Response(
                200,
                json={
                    "device": UPSTREAM,
                    "owner-nick": "bob",
                    "nick": "up",
                    "base-rev": self.base_rev,
                    "head-rev": head,
                    "behind": head - self.base_rev,
                    "follow": False,
                    "notice": "",
                },
            )
        if path == f"/trails/{TRAIL}/upstream/merge":
            body = json.loads(request.content)
            if body.get("parent-rev") != len(self.steps) - 1:
                return httpx.Response(
                    409, json={"error": "the fork has a newer revision", "code": "moved"}
                )
            self.merges.append(body)
            self.steps.append(
                {
                    "rev": len(self.steps),
                    "state": body["state"],
                    "commit-msg": f"Merge upstream bob/up rev {body['rev']}",
                }
            )
            self.base_rev = body["rev"]
            return httpx.Response(201, json={"revision": self.steps[-1], "upstream": {}})
        if path.startswith(f"/trails/{UPSTREAM}/"):
            forwarded = request.url.copy_with(path=path.replace(UPSTREAM, TRAIL))
            return self.upstream._answer(httpx.Request(request.method, forwarded))
        if path.startswith("/blob/") and path.rsplit("/", 1)[1] in self.upstream.blobs:
            return self.upstream._answer(request)
        return super()._answer(request)

    def upstream_posts(self, **files: bytes) -> int:
        state = dict(self.upstream.steps[-1]["state"])
        state.update(self.upstream.state_of(files))
        return self.upstream.add(state, raw=True)


@pytest.fixture
def hub(monkeypatch, tmp_path):
    monkeypatch.setenv("TRAIL_CONFIG_DIR", str(tmp_path / "config"))
    fake = ForkHub()
    fake.add(BASE)
    fake.upstream.add(BASE)
    monkeypatch.setenv("TRAIL_HUB", wire.serve(fake))
    monkeypatch.chdir(tmp_path)
    assert main(["clone", TRAIL, "wc"]) == 0
    monkeypatch.chdir(tmp_path / "wc")
    return fake


@pytest.fixture
def wc(hub, tmp_path) -> WorkCopy:
    return WorkCopy(tmp_path / "wc")


def test_a_clean_upstream_merge_is_posted_as_the_merge_on_the_forks_revision(hub, wc, capsys):
    (wc.root / "etc/hostname").write_bytes(b"lobby\n")
    assert main(["commit", "-m", "call it lobby"]) == 0
    hub.upstream_posts(**{"etc/motd": b"welcome\n"})

    code, out, err = run(capsys, "pull", "--upstream")

    assert code == 0, err
    assert out.splitlines() == [
        "M etc/motd",
        "merged upstream bob/up rev 1 into HEAD: `trail post` sends the merge",
    ]
    assert (wc.root / "etc/motd").read_bytes() == b"welcome\n"
    assert wc.remote == hub.steps[0]["state"]  # still what the fork's hub revision holds
    assert wc.upstream_merge == {"name": "bob/up", "rev": 1, "parent-rev": 0}
    again = run(capsys, "pull", "--upstream")
    assert again[0] == 1 and "is not posted yet: `trail post` sends it" in again[2]

    code, out, err = run(capsys, "post")

    assert code == 0, err
    merge = hub.merges[-1]
    assert (merge["rev"], merge["parent-rev"]) == (1, 0)
    assert merge["state"]["etc/motd"] == sha(b"welcome\n")
    assert merge["state"]["etc/hostname"] == sha(b"lobby\n")
    assert out.strip().endswith("Merge upstream bob/up rev 1")
    assert hub.posted == []  # no plain post: the merge moved the fork's base
    assert wc.upstream_merge is None and not wc.unposted()
    assert wc.config["rev"] == wc.config["latest"] == 1
    assert run(capsys, "pull", "--upstream")[1].strip() == (
        "already up to date with upstream bob/up rev 1"
    )


def test_a_conflict_with_upstream_is_resolved_by_hand_then_posted(hub, wc, capsys):
    (wc.root / "etc/hostname").write_bytes(b"lobby\n")
    assert main(["commit", "-m", "call it lobby"]) == 0
    hub.upstream_posts(**{"etc/hostname": b"hall\n"})

    code, out, err = run(capsys, "pull", "--upstream")

    assert code == 1
    assert "C etc/hostname  (both changed it: conflict markers in the file)" in out
    text = (wc.root / "etc/hostname").read_text()
    assert text.startswith("<<<<<<< ours\nlobby\n=======\nhall\n")
    assert ">>>>>>> theirs (upstream bob/up rev 1)" in text
    assert run(capsys, "post")[0] == 1  # conflicts first
    (wc.root / "etc/hostname").write_bytes(b"lobby hall\n")
    assert main(["resolve", "etc/hostname"]) == 0
    assert main(["commit", "-m", "both"]) == 0
    assert run(capsys, "post", "--rev", "5")[0] == 1  # a merge goes next, not at --rev

    code, _, err = run(capsys, "post")

    assert code == 0, err
    assert hub.merges[-1]["state"]["etc/hostname"] == sha(b"lobby hall\n")


def test_a_fork_that_moved_meanwhile_is_told_to_merge_again(hub, wc, capsys):
    hub.upstream_posts(**{"etc/motd": b"welcome\n"})
    assert run(capsys, "pull", "--upstream")[0] == 0
    hub.add({**BASE, "etc/issue": b"posted elsewhere\n"})  # the fork's rev 1, not seen here

    code, _, err = run(capsys, "post")

    assert code == 1 and "`trail pull --upstream` again" in err
    assert hub.merges == [] and wc.upstream_merge is not None


def test_get_force_drops_a_pending_upstream_merge(hub, wc, capsys):
    hub.upstream_posts(**{"etc/motd": b"welcome\n"})
    assert run(capsys, "pull", "--upstream")[0] == 0
    assert main(["get", "--force"]) == 0
    assert wc.upstream_merge is None
    assert (wc.root / "etc/motd").read_bytes() == b"line 1\nline 2\nline 3\n"
