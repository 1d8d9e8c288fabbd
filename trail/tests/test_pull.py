"""`trail pull` (three-way merge of the newest revision into HEAD), `trail resolve`, and
`trail post` after someone else posted, against a fake hub over a real socket."""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from trail.cli import main
from trail.cli.remote import conflict_lines
from trail.objects import ObjectStore
from trail.state import object_shas
from trail.tests import wire
from trail.workcopy import WorkCopy

TRAIL = "6b0763e504336695eccf7100"
OWNER = "prn:::accounts:/6b0763e504336695eccf7000"
SPEC = "pantavisor-service-system@1"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class FakeHub:
    """One trail: its revisions, the objects they name, uploads, and posts numbered as
    the hub numbers them (revisions/services/steps.py post_step: 409 ``rev-exists``
    for a number taken)."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}
        self.steps: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.posted: list[dict[str, Any]] = []
        #: The .pvrremote answer lags behind: a post lands between a look and a post.
        self.stale_tip: int | None = None

    def state_of(self, files: dict[str, bytes | Any]) -> dict[str, Any]:
        state: dict[str, Any] = {"#spec": SPEC}
        for key, value in files.items():
            if isinstance(value, bytes):
                self.blobs[sha(value)] = value
                state[key] = sha(value)
            else:
                state[key] = value
        return state

    def add(self, files: dict[str, bytes | Any] | dict[str, Any], raw: bool = False) -> int:
        state = dict(files) if raw else self.state_of(files)
        self.steps.append({"rev": len(self.steps), "state": state, "commit-msg": "x"})
        return len(self.steps) - 1

    def info(self, digest: str) -> dict[str, Any]:
        now = datetime.now(UTC)
        return {
            "sha256sum": digest,
            "size": str(len(self.blobs[digest])),
            "signed-geturl": f"/blob/{digest}",
            "now": now.isoformat().replace("+00:00", "Z"),
            "expire-time": (now + timedelta(hours=1)).isoformat().replace("+00:00", "Z"),
        }

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            return self._answer(request)

    def _answer(self, request: httpx.Request) -> httpx.Response:
        path, method = request.url.path, request.method
        if path == "/auth/auth_status":
            return httpx.Response(200, json={"prn": OWNER})
        if path == f"/devices/{TRAIL}":
            return httpx.Response(
                200, json={"id": TRAIL, "owner": OWNER, "nick": "dev", "owner-nick": "alice"}
            )
        if path == f"/trails/{TRAIL}/.pvrremote":
            tip = self.stale_tip if self.stale_tip is not None else len(self.steps) - 1
            return httpx.Response(200, json={"step-get-url": f"/trails/{TRAIL}/steps/{tip}"})
        if path == f"/trails/{TRAIL}/steps" and method == "POST":
            body = json.loads(request.content)
            if body["rev"] != -1 and body["rev"] < len(self.steps):
                return httpx.Response(
                    409,
                    json={"error": f"revision {body['rev']} already exists", "code": "rev-exists"},
                )
            self.posted.append(body)
            self.steps.append({"rev": len(self.steps), "state": body["state"]})
            return httpx.Response(200, json=self.steps[-1])
        if path.startswith(f"/trails/{TRAIL}/steps/"):
            parts = path.split("/")
            step = self.steps[int(parts[4])]
            if len(parts) == 6 and parts[5] == "objects":
                digests = object_shas(step["state"])
                return httpx.Response(
                    200, json=[self.info(d) for d in sorted(digests) if d in self.blobs]
                )
            return httpx.Response(200, json=step)
        if path.startswith("/objects/") and method == "GET":
            return httpx.Response(200, json=self.info(path.rsplit("/", 1)[1]))
        if path == "/objects/" and method == "POST":
            body = json.loads(request.content)
            if body["sha256sum"] in self.blobs:
                return httpx.Response(409, json={"error": "exists"})
            return httpx.Response(200, json={"signed-puturl": f"/put/{body['sha256sum']}"})
        if path.startswith("/put/"):
            self.blobs[path.rsplit("/", 1)[1]] = request.content
            return httpx.Response(200)
        if path.startswith("/blob/"):
            return httpx.Response(200, content=self.blobs[path.rsplit("/", 1)[1]])
        return httpx.Response(404, json={"error": f"no {method} {path}"})


BASE = {
    "bsp/run.json": {"linux": "kernel.img", "initrd": "initrd.img"},
    "bsp/kernel.img": b"\x00kernel 1",
    "etc/hostname": b"kiosk\n",
    "etc/motd": b"line 1\nline 2\nline 3\n",
}


@pytest.fixture
def hub(monkeypatch, tmp_path):
    monkeypatch.setenv("TRAIL_CONFIG_DIR", str(tmp_path / "config"))
    fake = FakeHub()
    fake.add(BASE)
    url = wire.serve(fake)
    monkeypatch.setenv("TRAIL_HUB", url)
    monkeypatch.chdir(tmp_path)
    assert main(["clone", TRAIL, "wc"]) == 0
    monkeypatch.chdir(tmp_path / "wc")
    return fake


@pytest.fixture
def wc(hub, tmp_path) -> WorkCopy:
    return WorkCopy(tmp_path / "wc")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def theirs(hub: FakeHub, **changes: Any) -> int:
    """Someone else posts a revision: BASE-newest with ``changes`` (None removes a key)."""
    files = {k: v for k, v in hub.steps[-1]["state"].items() if k != "#spec"}
    for key, value in changes.items():
        key = key.replace("__", "/").replace("_dot_", ".")
        if value is None:
            files.pop(key, None)
        else:
            files[key] = value
    state = hub.state_of({k: v for k, v in files.items() if not isinstance(v, str)})
    state.update({k: v for k, v in files.items() if isinstance(v, str)})
    return hub.add(state, raw=True)


def test_a_clean_pull_merges_both_sides_and_the_next_post_sends_the_merge(hub, wc, capsys):
    (wc.root / "etc/hostname").write_bytes(b"lobby\n")
    assert main(["commit", "-m", "call it lobby"]) == 0
    theirs(hub, etc__motd=b"welcome\n", bsp__run_dot_json={"linux": "kernel.img"})

    code, out, err = run(capsys, "pull")

    assert code == 0, err
    assert out.splitlines() == [
        "M bsp/run.json",
        "M etc/motd",
        "merged rev 1 of alice/dev into HEAD: `trail post` sends the merge as rev 2",
    ]
    assert (wc.root / "etc/motd").read_bytes() == b"welcome\n"
    assert (wc.root / "etc/hostname").read_bytes() == b"lobby\n"  # ours stays
    assert json.loads((wc.root / "bsp/run.json").read_text()) == {"linux": "kernel.img"}
    assert wc.config["rev"] == wc.config["latest"] == 1
    assert wc.status().clean and not wc.conflicts

    code, out, err = run(capsys, "post")
    assert code == 0, err
    posted = hub.posted[-1]
    assert posted["rev"] == 2
    assert posted["commit-msg"] == "call it lobby\nmerge rev 1"
    assert posted["state"]["etc/hostname"] == sha(b"lobby\n")
    assert posted["state"]["etc/motd"] == sha(b"welcome\n")


def test_a_pull_with_nothing_local_takes_the_newest_revision(hub, wc, capsys):
    theirs(hub, etc__motd=None, etc__issue=b"new file\n")
    code, out, _ = run(capsys, "pull")
    assert code == 0
    assert out.splitlines() == ["A etc/issue", "D etc/motd", "alice/dev is at rev 1, the newest"]
    assert not (wc.root / "etc/motd").exists()
    assert (wc.root / "etc/issue").read_bytes() == b"new file\n"
    assert not wc.unposted()
    code, out, _ = run(capsys, "pull")
    assert out == "already up to date with rev 1 of alice/dev\n"


def test_a_text_conflict_is_marked_resolved_committed_and_posted(hub, wc, capsys):
    (wc.root / "etc/motd").write_bytes(b"ours\n")
    assert main(["commit", "-m", "ours"]) == 0
    theirs(hub, etc__motd=b"theirs")  # no final newline: the marker still starts a line

    code, out, err = run(capsys, "pull")

    assert code == 1
    assert "C etc/motd  (both changed it: conflict markers in the file)" in out
    assert "1 conflict" in err and "`trail resolve PATH`" in err
    assert (wc.root / "etc/motd").read_bytes() == (
        b"<<<<<<< ours\nours\n=======\ntheirs\n>>>>>>> theirs (rev 1)\n"
    )
    assert wc.head["etc/motd"] == sha(b"ours\n")  # HEAD holds ours at a conflict
    code, out, _ = run(capsys, "status")
    assert out.splitlines()[1:] == [
        "HEAD differs from the newest rev 1 in 1 key: `trail post` sends it",
        "conflicts (make each file what it should hold, then `trail resolve PATH`):",
        "C etc/motd  (both changed it: conflict markers in the file)",
        "M etc/motd",
    ]
    for refused in (["post"], ["commit", "-m", "too soon"], ["pull"]):
        code, _, err = run(capsys, *refused)
        assert code == 1
        assert f"cannot {refused[0]}: the pull left conflicts in etc/motd" in err
    assert hub.posted == []

    code, _, err = run(capsys, "resolve", "etc/motd")
    assert code == 1 and "etc/motd still has conflict markers" in err

    (wc.root / "etc/motd").write_bytes(b"ours and theirs\n")
    code, out, _ = run(capsys, "resolve", "etc/motd")
    assert code == 0
    assert out.splitlines() == [
        "resolved etc/motd",
        "no conflicts left: `trail commit`, then `trail post`",
    ]
    assert main(["commit", "-m", "both"]) == 0
    code, out, err = run(capsys, "post")
    assert code == 0, err
    assert hub.posted[-1]["rev"] == 2
    assert hub.posted[-1]["state"]["etc/motd"] == sha(b"ours and theirs\n")
    assert hub.blobs[sha(b"ours and theirs\n")] == b"ours and theirs\n"


def test_a_text_file_both_changed_on_other_lines_merges_line_by_line(hub, wc, capsys, tmp_path):
    (wc.root / "etc/motd").write_bytes(b"line 1, ours\nline 2\nline 3\n")
    assert main(["commit", "-m", "ours"]) == 0
    theirs(hub, etc__motd=b"line 1\nline 2\nline 3, theirs\n")
    # The base's bytes are needed to merge lines: a cache that lost them fetches them.
    for cached in (tmp_path / "config").rglob(sha(BASE["etc/motd"])):
        cached.unlink()

    code, out, err = run(capsys, "pull")

    assert code == 0, err
    merged = b"line 1, ours\nline 2\nline 3, theirs\n"
    assert out.splitlines() == [
        "M etc/motd",
        "merged rev 1 of alice/dev into HEAD: `trail post` sends the merge as rev 2",
    ]
    assert (wc.root / "etc/motd").read_bytes() == merged
    assert wc.head["etc/motd"] == sha(merged)
    assert wc.conflicts == [] and wc.status().clean
    assert run(capsys, "post")[0] == 0
    assert hub.posted[-1]["state"]["etc/motd"] == sha(merged)
    assert hub.blobs[sha(merged)] == merged  # stored by the pull, uploaded by the post


def test_a_text_conflict_marks_only_the_lines_both_changed(hub, wc, capsys):
    (wc.root / "etc/motd").write_bytes(b"line 1, ours\nline 2\nline 3, ours\n")
    assert main(["commit", "-m", "ours"]) == 0
    theirs(hub, etc__motd=b"line 1\nline 2\nline 3, theirs\n")
    assert run(capsys, "pull")[0] == 1
    assert (wc.root / "etc/motd").read_bytes() == (
        b"line 1, ours\nline 2\n<<<<<<< ours\nline 3, ours\n=======\nline 3, theirs\n"
        b">>>>>>> theirs (rev 1)\n"
    )


def test_pull_abort_puts_back_what_the_pull_changed_and_nothing_else(hub, wc, capsys):
    (wc.root / "etc/motd").write_bytes(b"ours\n")
    (wc.root / "bsp/kernel.img").write_bytes(b"\x00kernel ours")
    assert main(["commit", "-m", "ours"]) == 0
    theirs(
        hub,
        etc__motd=b"theirs\n",
        bsp__kernel_dot_img=b"\x00kernel theirs",
        etc__issue=b"new\n",
        bsp__run_dot_json={"linux": "kernel.img"},
    )
    before = {key: (wc.root / key).read_bytes() for key in ("etc/motd", "bsp/run.json")}
    head, remote, config = wc.head, wc.remote, wc.config
    assert run(capsys, "pull")[0] == 1
    (wc.root / "etc/hostname").write_bytes(b"edited meanwhile\n")  # not the pull's
    assert run(capsys, "resolve", "bsp/kernel.img")[0] == 0  # one of two resolved

    code, out, _ = run(capsys, "pull", "--abort")

    assert code == 0
    assert out == "aborted the pull: HEAD and its files are as they were, at rev 0\n"
    assert (wc.head, wc.remote, wc.config) == (head, remote, config)
    assert {key: (wc.root / key).read_bytes() for key in before} == before
    assert not (wc.root / "etc/issue").exists()
    assert not (wc.root / "bsp/kernel.img.theirs").exists()
    assert wc.conflicts == []
    assert [(c.op, c.key) for c in wc.status().changes] == [("changed", "etc/hostname")]
    code, _, err = run(capsys, "pull", "--abort")
    assert code == 1 and "no pull to abort" in err
    # The pull can be tried again.
    assert run(capsys, "pull")[0] == 1


def test_get_refuses_over_a_pull_in_conflict_unless_forced_then_forgets_it(hub, wc, capsys):
    (wc.root / "etc/motd").write_bytes(b"ours\n")
    assert main(["commit", "-m", "ours"]) == 0
    theirs(hub, etc__motd=b"theirs\n")
    assert run(capsys, "pull")[0] == 1
    code, _, err = run(capsys, "get")
    assert code == 1 and "the last pull left conflicts" in err and "pull --abort" in err
    assert run(capsys, "get", "--force")[0] == 0
    assert wc.conflicts == [] and not (wc.meta / "pull.json").exists()
    assert (wc.root / "etc/motd").read_bytes() == b"theirs\n"
    assert "conflicts" not in run(capsys, "status")[1]


def test_a_json_member_conflict_keeps_ours_and_records_the_three_values(hub, wc, capsys):
    run_json = wc.root / "bsp/run.json"
    run_json.write_text(json.dumps({"linux": "ours.img", "initrd": "initrd.img", "mine": 1}))
    assert main(["commit", "-m", "ours"]) == 0
    theirs(hub, bsp__run_dot_json={"linux": "theirs.img", "initrd": "initrd.img", "dtb": "x"})

    code, out, _ = run(capsys, "pull")

    assert code == 1
    line = (
        'C bsp/run.json at /bsp~1run.json/linux  (base "kernel.img", ours "ours.img", '
        'theirs "theirs.img"; ours kept)'
    )
    assert line in out.splitlines()
    # The members only one side changed merged; the one in conflict holds ours.
    assert json.loads(run_json.read_text()) == {
        "linux": "ours.img",
        "initrd": "initrd.img",
        "mine": 1,
        "dtb": "x",
    }
    assert wc.conflicts == [
        {
            "key": "bsp/run.json",
            "path": "/bsp~1run.json/linux",
            "base": "kernel.img",
            "ours": "ours.img",
            "theirs": "theirs.img",
        }
    ]
    assert line in run(capsys, "status")[1].splitlines()
    code, _, err = run(capsys, "resolve", "bsp/kernel.img")
    assert code == 1 and "bsp/kernel.img: no conflict there" in err
    assert run(capsys, "resolve", "bsp/run.json")[0] == 0  # ours, as it is, is the answer
    assert wc.conflicts == []
    assert run(capsys, "post")[0] == 0
    assert hub.posted[-1]["state"]["bsp/run.json"]["linux"] == "ours.img"
    assert hub.posted[-1]["state"]["bsp/run.json"]["dtb"] == "x"


def test_a_binary_conflict_keeps_ours_with_theirs_beside(hub, wc, capsys):
    (wc.root / "bsp/kernel.img").write_bytes(b"\x00kernel ours")
    assert main(["commit", "-m", "ours"]) == 0
    theirs(hub, bsp__kernel_dot_img=b"\x00kernel theirs")

    code, out, _ = run(capsys, "pull")

    assert code == 1
    assert (
        "C bsp/kernel.img  (both changed it: ours kept, the hub's in bsp/kernel.img.theirs)" in out
    )
    assert (wc.root / "bsp/kernel.img").read_bytes() == b"\x00kernel ours"
    assert (wc.root / "bsp/kernel.img.theirs").read_bytes() == b"\x00kernel theirs"
    # Taking theirs: move it over ours, resolve, commit.
    (wc.root / "bsp/kernel.img.theirs").replace(wc.root / "bsp/kernel.img")
    assert run(capsys, "resolve", "bsp/kernel.img")[0] == 0
    assert main(["commit", "-m", "theirs after all"]) == 0
    assert not wc.unposted()  # HEAD is the hub's newest again: nothing to post


def test_a_file_we_removed_and_the_hub_changed_is_a_conflict_with_theirs_beside(hub, wc, capsys):
    for key in ("etc/motd", "etc/hostname"):
        (wc.root / key).unlink()
    (wc.root / "etc").rmdir()
    assert main(["commit", "-m", "no etc"]) == 0
    theirs(hub, etc__motd=b"still here\n")

    code, out, _ = run(capsys, "pull")

    assert code == 1
    assert "C etc/motd  (both changed it: ours kept, the hub's in etc/motd.theirs)" in out
    assert not (wc.root / "etc/motd").exists() and "etc/motd" not in wc.head
    assert (wc.root / "etc/motd.theirs").read_bytes() == b"still here\n"
    assert "ours" not in wc.conflicts[0]  # absent on our side: left out, not null
    # Keeping it after all: move it in, add it, resolve, commit, post.
    (wc.root / "etc/motd.theirs").replace(wc.root / "etc/motd")
    assert main(["add", "etc/motd"]) == 0
    assert run(capsys, "resolve", "etc/motd")[0] == 0
    assert main(["commit", "-m", "keep motd"]) == 0
    assert run(capsys, "post")[0] == 0
    assert hub.posted[-1]["state"]["etc/motd"] == sha(b"still here\n")
    assert "etc/hostname" not in hub.posted[-1]["state"]


def test_resolve_removes_a_theirs_file_left_there(hub, wc, capsys):
    (wc.root / "bsp/kernel.img").write_bytes(b"\x00kernel ours")
    assert main(["commit", "-m", "ours"]) == 0
    theirs(hub, bsp__kernel_dot_img=b"\x00kernel theirs")
    assert run(capsys, "pull")[0] == 1
    assert run(capsys, "resolve", "bsp/kernel.img")[0] == 0
    assert not (wc.root / "bsp/kernel.img.theirs").exists()
    assert wc.status().untracked == []


def test_a_pull_refuses_to_write_over_changes_not_committed(hub, wc, capsys):
    (wc.root / "etc/motd").write_bytes(b"not committed\n")
    (wc.root / "etc/hostname").write_bytes(b"not committed either\n")
    theirs(hub, etc__motd=b"theirs\n")
    before = (wc.meta / "json").read_bytes()

    code, _, err = run(capsys, "pull")

    assert code == 1
    assert "your changes to etc/motd are not committed and the merge would write" in err
    assert (wc.root / "etc/motd").read_bytes() == b"not committed\n"
    assert (wc.meta / "json").read_bytes() == before
    assert wc.config["latest"] == 0

    # Changes the merge does not touch stay, not committed.
    (wc.root / "etc/motd").write_bytes(BASE["etc/motd"])
    code, _, err = run(capsys, "pull")
    assert code == 0, err
    assert (wc.root / "etc/motd").read_bytes() == b"theirs\n"
    assert (wc.root / "etc/hostname").read_bytes() == b"not committed either\n"
    assert [(c.op, c.key) for c in wc.status().changes] == [("changed", "etc/hostname")]


def test_a_pull_refuses_to_write_over_a_file_nobody_tracks(hub, wc, capsys):
    (wc.root / "etc/issue").write_bytes(b"mine, untracked\n")
    theirs(hub, etc__issue=b"theirs\n")
    code, _, err = run(capsys, "pull")
    assert code == 1
    assert "files nobody tracks are where the merge would write: etc/issue" in err
    assert (wc.root / "etc/issue").read_bytes() == b"mine, untracked\n"


@pytest.mark.parametrize(
    "hostile",
    [
        {"../escape": "a" * 64},
        {"/etc/passwd": "a" * 64},
        {".trail/json": "a" * 64},
        {"etc/hostname/inside": "a" * 64},
    ],
)
def test_a_hostile_state_from_the_hub_is_refused_and_nothing_is_written(
    hub, wc, capsys, tmp_path, hostile
):
    state = {**hub.steps[0]["state"], **hostile}
    hub.add(state, raw=True)
    before = {p: p.read_bytes() for p in wc.root.rglob("*") if p.is_file()}

    code, _, err = run(capsys, "pull")

    assert code == 1
    assert "revision 1 has a state trail cannot use" in err
    assert {p: p.read_bytes() for p in wc.root.rglob("*") if p.is_file()} == before
    assert not (tmp_path / "escape").exists()


def test_a_merge_that_would_not_be_a_tree_is_refused(hub, wc, capsys):
    (wc.root / "etc/extra").write_bytes(b"ours: a file\n")
    assert main(["add", "etc/extra"]) == 0
    assert main(["commit", "-m", "a file"]) == 0
    theirs(hub, etc__extra__inside=b"theirs: a folder\n")  # valid alone, not with ours
    code, _, err = run(capsys, "pull")
    assert code == 1
    assert "cannot merge: the merged state would not be a tree" in err
    assert wc.config["latest"] == 0


def test_post_after_someone_else_posted_says_to_pull_and_posts_nothing(hub, wc, capsys):
    (wc.root / "etc/hostname").write_bytes(b"lobby\n")
    assert main(["commit", "-m", "lobby"]) == 0
    theirs(hub, etc__motd=b"someone else's\n")

    code, _, err = run(capsys, "post")

    assert code == 1
    assert err.splitlines()[-1] == (
        "trail: error: the device has revision 1 that this working copy does not have: run "
        "`trail pull`, then post (nothing was posted; `trail post --rev -1` posts HEAD over "
        "it anyway)"
    )
    assert hub.posted == []
    assert sha(b"lobby\n") not in hub.blobs  # refused before any upload
    assert run(capsys, "pull")[0] == 0
    assert run(capsys, "post")[0] == 0
    assert hub.posted[-1]["rev"] == 2


def test_post_refused_by_the_hub_for_a_number_taken_says_to_pull(hub, wc, capsys):
    """Someone posts between post's look at the newest revision and its post: the hub's
    409 rev-exists is told the same way."""
    (wc.root / "etc/hostname").write_bytes(b"lobby\n")
    assert main(["commit", "-m", "lobby"]) == 0
    hub.stale_tip = 0
    theirs(hub, etc__motd=b"someone else's\n")
    original = hub._answer

    def answer(request):
        if request.method == "POST" and request.url.path == f"/trails/{TRAIL}/steps":
            hub.stale_tip = None  # the look after the refusal sees the new revision
        return original(request)

    hub._answer = answer
    code, _, err = run(capsys, "post")
    assert code == 1
    assert "the device has revision 1 that this working copy does not have" in err
    assert hub.posted == []


def test_post_rev_minus_one_still_appends_over_a_newer_revision(hub, wc, capsys):
    (wc.root / "etc/hostname").write_bytes(b"lobby\n")
    assert main(["commit", "-m", "lobby"]) == 0
    theirs(hub, etc__motd=b"someone else's\n")
    assert run(capsys, "post", "--rev", "-1")[0] == 0
    assert hub.posted[-1]["rev"] == -1
    assert hub.steps[-1]["rev"] == 2


def test_status_names_a_device_whose_nicks_are_unknown_by_its_id(tmp_path, monkeypatch, capsys):
    """It printed "On rev 0 of None/None" for a working copy without nicks (an import)."""
    monkeypatch.setenv("TRAIL_CONFIG_DIR", str(tmp_path / "config"))
    store = ObjectStore(tmp_path / "objects")
    state = {"#spec": SPEC, "a.json": {}}
    config = {"hub": "http://hub.test", "trail-id": TRAIL, "rev": 0, "latest": 0}
    WorkCopy.create(tmp_path / "wc", config, state, store)
    monkeypatch.chdir(tmp_path / "wc")
    code, out, _ = run(capsys, "status")
    assert code == 0
    assert out.splitlines()[0] == f"On rev 0 of {TRAIL} at http://hub.test"
    assert "None" not in out


def test_conflict_lines_name_a_whole_key_and_an_absent_side():
    lines = conflict_lines(
        [
            {"key": "a.json", "path": "/a.json", "base": 1, "ours": 2},
            {"key": "b.json", "path": "/b.json/\x1b[2J\u202e", "ours": 1, "theirs": "\u202ex"},
            {"key": "#spec", "path": "/#spec", "base": "x", "ours": "y", "theirs": "z"},
        ]
    )
    assert lines == [
        "C a.json  (base 1, ours 2, theirs absent; ours kept)",
        'C b.json at /b.json/\\u001b[2J\\u202e  (base absent, ours 1, theirs "\\u202ex";'
        " ours kept)",
        'C #spec  (base "x", ours "y", theirs "z"; ours kept)',
    ]
