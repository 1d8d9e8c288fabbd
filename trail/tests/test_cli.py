"""The ``trail`` command line without a hub: parsing, help, errors, export and import."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from trail.cli import build_parser, main
from trail.cli.context import CLIError, Context
from trail.cli.remote import parse_source
from trail.objects import ObjectStore
from trail.workcopy import WorkCopy

ID = "6b0763e504336695eccf7100"
COMMANDS = [
    ["login"], ["whoami"], ["clone"], ["fork"], ["status"], ["diff"], ["add"], ["commit"],
    ["post"], ["pull"], ["resolve"], ["checkout"], ["reset"], ["get"], ["log"], ["export"],
    ["import"], ["claim"], ["propose"], ["upstream"], ["upstream", "show"], ["upstream", "merge"],
    ["upstream", "follow"], ["upstream", "unfollow"],
    ["device"], ["device", "list"], ["device", "get"], ["device", "set"], ["device", "logs"],
    ["device", "scan"],
]  # fmt: skip


@pytest.fixture
def ctx(monkeypatch, tmp_path):
    monkeypatch.setenv("TRAIL_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("TRAIL_HUB", "http://hub.test:8000")
    monkeypatch.chdir(tmp_path)
    return Context(build_parser().parse_args(["status"]))


@pytest.mark.parametrize(
    "text, hub, trail_id, owner, nick, rev",
    [
        (f"http://h:8000/trails/{ID}", "http://h:8000", ID, None, None, None),
        (f"https://h/base/trails/{ID}/steps/4", "https://h/base", ID, None, None, 4),
        ("http://h:8000/u/alice/kiosk/", "http://h:8000", None, "alice", "kiosk", None),
        ("alice/kiosk", "http://hub.test:8000", None, "alice", "kiosk", None),
        (ID, "http://hub.test:8000", ID, None, None, None),
    ],
)
def test_it_understands_every_kind_of_clone_source(ctx, text, hub, trail_id, owner, nick, rev):
    source = parse_source(text, ctx)
    assert (source.hub, source.trail_id, source.owner, source.nick, source.rev) == (
        hub,
        trail_id,
        owner,
        nick,
        rev,
    )


@pytest.mark.parametrize("text", ["http://h/devices/x", "just-a-word", "a/b/c"])
def test_it_explains_a_clone_source_it_cannot_use(ctx, text):
    with pytest.raises(CLIError, match="cannot clone"):
        parse_source(text, ctx)


@pytest.mark.parametrize("argv", COMMANDS, ids=" ".join)
def test_every_command_has_help(argv, capsys):
    with pytest.raises(SystemExit) as exit:
        main([*argv, "--help"])
    assert exit.value.code == 0
    assert "usage: trail" in capsys.readouterr().out


def test_it_exits_2_on_a_command_used_wrongly(capsys):
    with pytest.raises(SystemExit) as exit:
        main(["commit"])  # no -m
    assert exit.value.code == 2
    assert "-m/--message" in capsys.readouterr().err


def test_it_fails_with_one_line_outside_a_working_copy(ctx, capsys):
    assert main(["status"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("trail: error: ") and err.count("\n") == 1
    assert "run `trail clone` first" in err


def test_it_asks_which_hub_when_none_is_known(ctx, monkeypatch, capsys):
    monkeypatch.delenv("TRAIL_HUB")
    assert main(["device", "list"]) == 1
    assert "give --hub URL or set TRAIL_HUB" in capsys.readouterr().err


def test_it_tells_to_log_in_when_there_is_no_login(ctx, capsys):
    assert main(["whoami"]) == 1
    assert "not logged in to http://hub.test:8000" in capsys.readouterr().err


def test_it_refuses_a_password_from_a_pipe_without_the_flag(ctx, monkeypatch, capsys):
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO("secret\n"))
    assert main(["login", "--username", "alice"]) == 1
    assert "--password-stdin" in capsys.readouterr().err


@pytest.mark.parametrize("script", ["trail", "trail-agent"])
def test_the_console_scripts_run(script):
    # `make test` installs the package, so the scripts sit beside the interpreter.
    done = subprocess.run(
        [str(Path(sys.executable).parent / script), "--help"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert f"usage: {script}" in done.stdout


def _working_copy(tmp_path, store):
    state = {
        "#spec": "pantavisor-service-system@1",
        "bsp/run.json": {"linux": "kernel.img"},
        "bsp/kernel.img": store.add_bytes(b"kernel"),
    }
    config = {"hub": "http://hub.test:8000", "trail-id": ID, "rev": 0, "latest": 0}
    return WorkCopy.create(tmp_path / "wc", config, state, store)


def test_export_and_import_round_trip_a_state(ctx, tmp_path, monkeypatch, capsys):
    store = ctx.store("http://hub.test:8000")
    wc = _working_copy(tmp_path, store)
    monkeypatch.chdir(wc.root)
    assert main(["export", str(tmp_path / "rev0.tar.gz")]) == 0
    with tarfile.open(tmp_path / "rev0.tar.gz") as tar:
        names = sorted(tar.getnames())
    assert names == ["json", f"objects/{wc.head['bsp/kernel.img']}"]

    (wc.root / "bsp/kernel.img").write_bytes(b"other kernel")
    assert main(["commit", "-m", "other"]) == 0
    assert main(["import", str(tmp_path / "rev0.tar.gz")]) == 1  # it would drop a commit
    assert main(["import", "--force", str(tmp_path / "rev0.tar.gz")]) == 0
    assert (wc.root / "bsp/kernel.img").read_bytes() == b"kernel"
    assert not wc.unposted()


def test_import_refuses_objects_that_are_not_what_they_claim(ctx, tmp_path, monkeypatch, capsys):
    import io
    import json

    store = ctx.store("http://hub.test:8000")
    wc = _working_copy(tmp_path, store)
    monkeypatch.chdir(wc.root)
    sha = "a" * 64
    state = {**wc.head, "bsp/kernel.img": sha}
    with tarfile.open(tmp_path / "bad.tar", "w") as tar:
        for name, data in (("json", json.dumps(state).encode()), (f"objects/{sha}", b"nope")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    assert main(["import", str(tmp_path / "bad.tar")]) == 1
    assert f"objects/{sha} holds other bytes" in capsys.readouterr().err
    assert not ObjectStore(store.root).has(sha)


def test_reset_hard_restores_files_from_the_cache_without_the_hub(ctx, tmp_path, monkeypatch):
    store = ctx.store("http://hub.test:8000")  # nothing listens there: the cache must do
    wc = _working_copy(tmp_path, store)
    monkeypatch.chdir(wc.root)
    (wc.root / "bsp/kernel.img").write_bytes(b"scribbled")
    assert main(["reset", "--hard"]) == 0
    assert (wc.root / "bsp/kernel.img").read_bytes() == b"kernel"
    assert wc.status().clean


def test_diff_shows_text_as_it_is_and_other_bytes_by_sha(ctx, tmp_path, monkeypatch, capsys):
    """`trail diff` needs no hub: HEAD, the files and the cache. Text goes out byte for
    byte (a tab, ":x:", a last line without its newline); bytes that are not text,
    or an object the cache lacks, are named by sha."""
    store = ctx.store("http://hub.test:8000")
    wc = _working_copy(tmp_path, store)
    monkeypatch.chdir(wc.root)
    (wc.root / "etc").mkdir()
    (wc.root / "etc/passwd").write_bytes(b"root:x:0:0:root:/root:/bin/sh\n\tindented")
    assert main(["add", "etc/passwd"]) == 0
    (wc.root / "bsp/kernel.img").write_bytes(b"\0binary kernel")
    capsys.readouterr()

    assert main(["diff"]) == 0
    new_sha = hashlib.sha256(b"\0binary kernel").hexdigest()
    assert capsys.readouterr().out == (
        f"Binary object bsp/kernel.img changed: {wc.head['bsp/kernel.img'][:12]} -> {new_sha[:12]}\n"
        "diff --trail a/etc/passwd b/etc/passwd\n"
        "--- /dev/null\n"
        "+++ b/etc/passwd\n"
        "@@ -0,0 +1,2 @@\n"
        "+root:x:0:0:root:/root:/bin/sh\n"
        "+\tindented\n"
        "\\ No newline at end of file\n"
    )

    (wc.root / "bsp/kernel.img").unlink()
    assert main(["diff"]) == 0
    assert capsys.readouterr().out.startswith(
        "diff --trail a/bsp/kernel.img b/bsp/kernel.img\n"
        "--- a/bsp/kernel.img\n"
        "+++ /dev/null\n"
        "@@ -1 +0,0 @@\n"
        "-kernel\n"
        "\\ No newline at end of file\n"
        "diff --trail a/etc/passwd b/etc/passwd\n"
    )


def test_diff_remote_names_an_object_the_cache_lacks_by_sha(ctx, tmp_path, monkeypatch, capsys):
    store = ctx.store("http://hub.test:8000")
    wc = _working_copy(tmp_path, store)
    monkeypatch.chdir(wc.root)
    gone = "e" * 64  # the newest revision's kernel, never downloaded here
    wc.set_head(wc.head, tip={**wc.head, "bsp/kernel.img": gone, "bsp/run.json": {}})
    capsys.readouterr()
    assert main(["diff", "--remote"]) == 0
    assert capsys.readouterr().out == (
        f"Binary object bsp/kernel.img changed: eeeeeeeeeeee -> {wc.head['bsp/kernel.img'][:12]}\n"
        "diff --trail a/bsp/run.json b/bsp/run.json\n"
        "--- a/bsp/run.json\n"
        "+++ b/bsp/run.json\n"
        "@@ -1 +1,3 @@\n"
        "-{}\n"
        "+{\n"
        '+  "linux": "kernel.img"\n'
        "+}\n"
    )


def test_output_is_text_not_markup_nor_emoji_codes(ctx, tmp_path, monkeypatch, capsys):
    """rich reads "[red]" as a style, "[/y]" as a closing tag (an error when none is
    open) and ":x:" as an emoji unless told not to; file names are printed as they are."""
    store = ctx.store("http://hub.test:8000")
    wc = _working_copy(tmp_path, store)
    monkeypatch.chdir(wc.root)
    names = ["to:x:do.txt", "[red]alert.txt", "draft[/y].txt"]  # the last in a directory
    for name in names:
        (wc.root / name).parent.mkdir(exist_ok=True)
        (wc.root / name).write_text("later\n")
    capsys.readouterr()
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert [line for line in out.splitlines() if line.startswith("?")] == [
        f"? {name}" for name in sorted(names)
    ]
