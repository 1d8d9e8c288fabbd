"""trail.tree and trail.workcopy: states as files, status, add, commit, reset."""

from __future__ import annotations

import json

import pytest

from trail.objects import ObjectStore
from trail.state import Change, StateError
from trail.tree import check_layout, json_bytes, scan, write_tree
from trail.workcopy import WorkCopy, WorkCopyError

SPEC = "pantavisor-service-system@1"


@pytest.fixture
def store(tmp_path):
    return ObjectStore(tmp_path / "cache")


@pytest.fixture
def state(store):
    return {
        "#spec": SPEC,
        "bsp/run.json": {"linux": "kernel.img", "initrd": "pantavisor"},
        "bsp/kernel.img": store.add_bytes(b"kernel"),
        "_config/pv-avahi/etc/hostname": store.add_bytes(b"pi\n"),
        "pv-avahi/root.squashfs": store.add_bytes(b"squash"),
    }


@pytest.fixture
def wc(tmp_path, state, store):
    config = {"hub": "http://hub.test", "trail-id": "a" * 24, "rev": 1, "latest": 1}
    return WorkCopy.create(tmp_path / "kiosk", config, state, store)


def test_it_writes_a_state_as_files(wc, state):
    assert scan(wc.root) == sorted(k for k in state if k != "#spec")
    assert (wc.root / "bsp/kernel.img").read_bytes() == b"kernel"
    assert json.loads((wc.root / "bsp/run.json").read_text()) == state["bsp/run.json"]
    assert (wc.root / "bsp/run.json").read_bytes() == json_bytes(state["bsp/run.json"])
    assert wc.head == state and wc.remote == state


def test_it_finds_the_working_copy_from_a_subdirectory(wc):
    assert WorkCopy.find(wc.root / "bsp").root == wc.root


def test_it_says_where_there_is_no_working_copy(tmp_path):
    with pytest.raises(WorkCopyError, match="run `trail clone` first"):
        WorkCopy.find(tmp_path)


def test_a_fresh_clone_is_clean(wc):
    status = wc.status()
    assert status.clean and not status.untracked


def test_it_sees_changed_removed_and_untracked_files(wc):
    (wc.root / "_config/pv-avahi/etc/hostname").write_text("kiosk\n")
    (wc.root / "pv-avahi/root.squashfs").unlink()
    (wc.root / "notes.txt").write_text("new")
    status = wc.status()
    assert status.changes == [
        Change("changed", "_config/pv-avahi/etc/hostname"),
        Change("removed", "pv-avahi/root.squashfs"),
    ]
    assert status.untracked == ["notes.txt"]


def test_it_ignores_how_a_json_file_is_laid_out(wc):
    (wc.root / "bsp/run.json").write_text('{"initrd":"pantavisor","linux":"kernel.img"}')
    assert wc.status().clean


def test_it_reports_a_json_file_that_is_not_json(wc, store):
    (wc.root / "bsp/run.json").write_text("{oops")
    status = wc.status()
    assert "not valid JSON" in status.broken["bsp/run.json"]
    with pytest.raises(WorkCopyError, match="cannot commit: bsp/run.json"):
        wc.commit("broken", store)


def test_it_commits_added_files_only_after_add(wc, store):
    (wc.root / "_config/pv-avahi/etc/motd").write_text("hello\n")
    with pytest.raises(WorkCopyError, match="nothing to commit"):
        wc.commit("nothing", store)
    assert wc.add([wc.root / "_config"]) == ["_config/pv-avahi/etc/motd"]
    assert wc.status().changes == [Change("added", "_config/pv-avahi/etc/motd")]
    changes = wc.commit("add a motd", store)
    assert changes == [Change("added", "_config/pv-avahi/etc/motd")]
    sha = wc.head["_config/pv-avahi/etc/motd"]
    assert store.path(sha).read_bytes() == b"hello\n"
    assert wc.unposted()
    assert wc.config["message"] == "add a motd"
    assert wc.added == []


def test_it_commits_a_change_and_a_removal(wc, store, state):
    (wc.root / "_config/pv-avahi/etc/hostname").write_text("kiosk\n")
    (wc.root / "bsp/kernel.img").unlink()
    wc.commit("rename", store)
    head = wc.head
    assert "bsp/kernel.img" not in head
    assert store.path(head["_config/pv-avahi/etc/hostname"]).read_bytes() == b"kiosk\n"
    assert wc.status().clean
    assert wc.remote == state


def test_it_refuses_to_add_outside_the_copy_or_into_its_metadata(wc, tmp_path):
    with pytest.raises(WorkCopyError, match="outside"):
        wc.add([tmp_path])
    with pytest.raises(WorkCopyError, match=r"\.trail/"):
        wc.add([wc.root / ".trail/json"])


def test_checking_out_head_puts_files_back_and_reset_forgets_adds(wc, store):
    (wc.root / "bsp/kernel.img").write_bytes(b"broken")
    (wc.root / "bsp/run.json").unlink()
    (wc.root / "new").write_text("n")
    wc.add([wc.root / "new"])
    wc.reset()
    assert wc.added == []
    wc.checkout(wc.head, store)
    assert wc.status().clean
    assert (wc.root / "bsp/kernel.img").read_bytes() == b"kernel"


def test_checkout_replaces_the_tracked_files_and_keeps_the_others(wc, store, state):
    (wc.root / "scratch").write_text("mine")
    other = dict(state)
    del other["pv-avahi/root.squashfs"]
    other["app/run.json"] = {"name": "app"}
    wc.checkout(other, store)
    assert not (wc.root / "pv-avahi").exists()  # emptied directories go too
    assert (wc.root / "scratch").read_text() == "mine"
    assert json.loads((wc.root / "app/run.json").read_text()) == {"name": "app"}
    assert wc.head == other


def test_it_hashes_only_files_that_changed(wc, monkeypatch):
    import trail.workcopy as module

    hashed = []
    real = module.read_value
    monkeypatch.setattr(
        module, "read_value", lambda root, key: hashed.append(key) or real(root, key)
    )
    wc.status()
    assert all(key.endswith(".json") for key in hashed)
    (wc.root / "bsp/kernel.img").write_bytes(b"new kernel")
    hashed.clear()
    wc.status()
    assert "bsp/kernel.img" in hashed


@pytest.mark.parametrize(
    "keys, words",
    [
        (["a", "a/b"], 'lies inside "a"'),
        ([".trail/x"], "reserved"),
        ([".pvr/json"], "reserved"),
    ],
)
def test_it_refuses_states_that_cannot_be_trees(keys, words):
    state = {"#spec": SPEC, **{key: "0" * 64 for key in keys}}
    with pytest.raises(StateError, match=words):
        check_layout(state)


def test_it_writes_objects_as_hard_links_when_asked(tmp_path, store, state):
    write_tree(state, tmp_path / "t", store, link=True)
    sha = state["bsp/kernel.img"]
    assert (tmp_path / "t/bsp/kernel.img").stat().st_ino == store.path(sha).stat().st_ino
