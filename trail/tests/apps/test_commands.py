"""``trail app add/update/ls/info/rm`` on a working copy, and through the CLI."""

from __future__ import annotations

import json

import pytest

from trail.apps.commands import PullOptions, add, info, listing, remove, update
from trail.apps.errors import AppError
from trail.cli import main
from trail.objects import ObjectStore, sha256_file
from trail.tests.apps.images import (
    DEMO_CONFIG,
    demo_image,
    demo_layers,
    f,
    make_image,
    write_oci_layout,
)
from trail.tests.apps.snapshot import snapshot

FILES = [
    "lxc.container.conf",
    "root.squashfs",
    "root.squashfs.docker-digest",
    "run.json",
    "src.json",
]


@pytest.fixture
def layout(tmp_path):
    """An OCI layout whose image the test can replace: ``layout.put(image)``."""
    path = tmp_path / "layout"

    class Layout:
        def put(self, image):
            if path.exists():
                (path / "index.json").unlink()
            write_oci_layout(path, image, "1.0")
            return image

    Layout.path = path
    layout = Layout()
    layout.put(demo_image())
    return layout


def read(wc, key):
    return json.loads((wc.root / key).read_text())


def test_it_adds_a_platform_and_marks_it_for_the_next_commit(wc, layout):
    outcome = add(wc, "demo", str(layout.path), PullOptions())
    assert outcome.written == FILES
    assert sorted(p.name for p in (wc.root / "demo").iterdir()) == FILES
    status = wc.status()
    assert [(c.op, c.key) for c in status.changes] == [("added", f"demo/{n}") for n in FILES]
    assert status.untracked == []
    changes = wc.commit("add demo", ObjectStore(wc.root.parent / "objects"))
    assert len(changes) == 5
    assert wc.head["demo/run.json"]["name"] == "demo"
    assert wc.head["demo/root.squashfs"] == sha256_file(wc.root / "demo/root.squashfs")


def test_it_refuses_a_name_that_is_taken_or_reserved(wc, layout):
    add(wc, "demo", str(layout.path), PullOptions())
    before = snapshot(wc.root)
    with pytest.raises(AppError) as caught:
        add(wc, "demo", str(layout.path), PullOptions())
    assert caught.value.code == "name-taken"
    assert "trail app update demo" in caught.value.message
    (wc.root / "notes").mkdir()
    (wc.root / "notes" / "todo.txt").write_text("x")
    with pytest.raises(AppError, match="already exists"):
        add(wc, "notes", str(layout.path), PullOptions())
    for name in ("bsp", "_config", "Demo", "a/b", "..", ""):
        with pytest.raises(AppError) as caught:
            add(wc, name, str(layout.path), PullOptions())
        assert caught.value.code == "bad-name"
    after = snapshot(wc.root)
    del after["notes"], after["notes/todo.txt"]
    assert after == before


def test_it_refuses_a_name_the_committed_state_has_even_if_deleted(wc, layout):
    add(wc, "demo", str(layout.path), PullOptions())
    wc.commit("add demo", ObjectStore(wc.root.parent / "objects"))
    for path in (wc.root / "demo").iterdir():
        path.unlink()
    (wc.root / "demo").rmdir()
    with pytest.raises(AppError) as caught:
        add(wc, "demo", str(layout.path), PullOptions())
    assert caught.value.code == "name-taken"


def test_it_leaves_no_scratch_behind(wc, layout):
    add(wc, "demo", str(layout.path), PullOptions())
    with pytest.raises(AppError):
        add(wc, "other", str(layout.path) + "-missing", PullOptions())
    assert [p.name for p in wc.meta.iterdir() if p.name.startswith("app-")] == []


# --- update ------------------------------------------------------------------------------


def test_it_changes_nothing_when_the_image_did_not_change(wc, layout):
    add(wc, "demo", str(layout.path), PullOptions())
    before = snapshot(wc.root)
    outcome = update(wc, "demo", PullOptions())
    assert outcome.written == []
    assert snapshot(wc.root) == before


def test_it_rewrites_only_what_a_new_image_changes(wc, layout):
    add(wc, "demo", str(layout.path), PullOptions())
    run = read(wc, "demo/run.json")
    run["group"] = "app"  # what a person set survives updates
    (wc.root / "demo/run.json").write_text(json.dumps(run))
    conf = wc.root / "demo/lxc.container.conf"
    conf.write_text(conf.read_text() + "lxc.cap.drop = sys_admin\n")
    old_sha = sha256_file(wc.root / "demo/root.squashfs")

    image = layout.put(demo_image(hostname="changed\n"))
    outcome = update(wc, "demo", PullOptions())
    assert outcome.written == ["root.squashfs", "root.squashfs.docker-digest", "src.json"]
    assert sha256_file(wc.root / "demo/root.squashfs") != old_sha
    assert read(wc, "demo/src.json")["docker_digest"].endswith(image.digest)
    assert read(wc, "demo/run.json")["group"] == "app"
    assert conf.read_text().endswith("lxc.cap.drop = sys_admin\n")  # the config did not change


def test_it_rewrites_the_lxc_config_and_storage_when_the_image_config_changes(wc, layout):
    add(wc, "demo", str(layout.path), PullOptions())
    root_sha = sha256_file(wc.root / "demo/root.squashfs")
    config = dict(DEMO_CONFIG, Env=["MODE=new"], Volumes={"/data": {}, "/var/lib/app/": {}})
    layout.put(make_image(demo_layers(), config=config))
    outcome = update(wc, "demo", PullOptions())
    assert outcome.written == [
        "lxc.container.conf",
        "root.squashfs.docker-digest",
        "run.json",
        "src.json",
    ]  # same layers: the same root.squashfs
    assert sha256_file(wc.root / "demo/root.squashfs") == root_sha
    conf = (wc.root / "demo/lxc.container.conf").read_text()
    assert "lxc.environment = MODE=new" in conf
    assert "GREETING" not in conf
    assert "/volumes/demo/docker--var-lib-app var/lib/app none bind" in conf
    assert read(wc, "demo/run.json")["storage"] == {
        "docker--data": {"persistence": "permanent"},
        "docker--var-lib-app": {"persistence": "permanent"},
        "lxc-overlay": {"persistence": "boot"},
    }


def test_it_switches_a_platform_to_another_image(wc, layout, tmp_path):
    add(wc, "demo", str(layout.path), PullOptions())
    other = write_oci_layout(tmp_path / "other", make_image([[f("other", "yes")]]), "9")
    update(wc, "demo", PullOptions(), source_text=str(other))
    src = read(wc, "demo/src.json")
    assert src["docker_tag"] == "9"
    assert src["trail_source"]["location"] == str(other)
    before = snapshot(wc.root)
    assert update(wc, "demo", PullOptions()).written == []  # follows the new source now
    assert snapshot(wc.root) == before


def test_it_leaves_the_platform_alone_when_an_update_fails(wc, layout):
    add(wc, "demo", str(layout.path), PullOptions())
    before = snapshot(wc.root)
    image = layout.put(demo_image(hostname="broken\n"))
    blob = layout.path / "blobs/sha256" / image.manifest_json["layers"][1]["digest"][7:]
    blob.write_bytes(blob.read_bytes()[:-3] + b"xyz")
    with pytest.raises(AppError) as caught:
        update(wc, "demo", PullOptions())
    assert caught.value.code == "digest-mismatch"
    after = snapshot(wc.root)
    assert after == before


def test_it_cannot_update_what_is_not_an_image_platform(wc):
    (wc.root / "handmade").mkdir()
    (wc.root / "handmade/run.json").write_text(json.dumps({"#spec": "service-manifest-run@1"}))
    with pytest.raises(AppError, match="not made from an image"):
        update(wc, "handmade", PullOptions())
    with pytest.raises(AppError) as caught:
        update(wc, "nothing", PullOptions())
    assert caught.value.code == "no-such-app"


# --- ls, info, rm --------------------------------------------------------------------------


def test_it_lists_platforms_with_their_images(wc, layout):
    image = demo_image()
    add(wc, "demo", str(layout.path), PullOptions())
    (wc.root / "handmade").mkdir()
    (wc.root / "handmade/run.json").write_text(json.dumps({"#spec": "service-manifest-run@1"}))
    (wc.root / "bsp").mkdir()
    (wc.root / "bsp/run.json").write_text(json.dumps({"linux": "kernel.img"}))
    assert listing(wc) == [
        {
            "name": "demo",
            "image": "layout",
            "tag": "1.0",
            "digest": image.digest,
            "platform": "linux/amd64",
        },
        {"name": "handmade", "image": None, "tag": None, "digest": None, "platform": None},
    ]


def test_it_shows_a_platforms_details(wc, layout):
    add(wc, "demo", str(layout.path), PullOptions())
    (wc.root / "_config/demo/etc").mkdir(parents=True)
    (wc.root / "_config/demo/etc/app.conf").write_text("x=1\n")
    details = info(wc, "demo")
    assert details["entrypoint"] == ["/usr/bin/tool"]
    assert details["cmd"] == ["--serve", "a b"]
    assert details["workdir"] == "/app"
    assert details["volumes"] == ["/data"]
    assert details["source"]["kind"] == "oci-layout"
    assert details["files"]["root.squashfs"]["sha256"] == sha256_file(
        wc.root / "demo/root.squashfs"
    )
    assert details["config_files"] == ["_config/demo/etc/app.conf"]


def test_it_removes_a_platform_with_its_config_and_signature(wc, layout):
    add(wc, "demo", str(layout.path), PullOptions())
    add(wc, "keep", str(layout.path), PullOptions())
    (wc.root / "_config/demo").mkdir(parents=True)
    (wc.root / "_config/demo/file").write_text("x")
    (wc.root / "_config/keep").mkdir(parents=True)
    (wc.root / "_sigs").mkdir()
    (wc.root / "_sigs/demo.json").write_text("{}")
    assert remove(wc, "demo") == ["demo", "_config/demo", "_sigs/demo.json"]
    assert not (wc.root / "demo").exists()
    assert (wc.root / "keep/root.squashfs").is_file()
    assert (wc.root / "_config/keep").is_dir()
    for name in ("demo", "bsp", "../device"):
        with pytest.raises(AppError) as caught:
            remove(wc, name)
        assert caught.value.code in ("no-such-app", "bad-name")


# --- the CLI ---------------------------------------------------------------------------------


def test_it_runs_as_trail_app(wc, layout, monkeypatch, capsys):
    monkeypatch.chdir(wc.root)
    assert main(["app", "add", "demo", "--from", str(layout.path)]) == 0
    captured = capsys.readouterr()
    assert "A demo/root.squashfs" in captured.out and "trail commit" in captured.out
    # Progress, one line per layer when stderr is not a terminal.
    assert "layer 1/2: 685 bytes" in captured.err and "layer 2/2:" in captured.err
    assert main(["app", "ls"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["NAME", "IMAGE", "TAG", "DIGEST", "PLATFORM"]
    assert lines[1].split()[:3] == ["demo", "layout", "1.0"]
    assert main(["app", "info", "demo", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["name"] == "demo"
    assert main(["app", "update", "demo"]) == 0
    assert "demo is up to date" in capsys.readouterr().out
    assert main(["app", "rm", "demo"]) == 0
    assert "D demo" in capsys.readouterr().out


def test_it_reports_errors_as_trail_does(wc, layout, monkeypatch, capsys):
    monkeypatch.chdir(wc.root)
    assert main(["app", "add", "demo", "--from", str(layout.path)]) == 0
    capsys.readouterr()
    assert main(["app", "add", "demo", "--from", str(layout.path)]) == 1
    assert capsys.readouterr().err.startswith("trail: error: demo already exists")
    assert main(["app", "add", "x", "--from", "Not A Reference!"]) == 1
    assert "neither an existing file or directory nor an image reference" in capsys.readouterr().err
