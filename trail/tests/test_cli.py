"""The ``trail`` command line without a hub: parsing, help, errors, export and import."""

from __future__ import annotations

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
    ["login"], ["whoami"], ["clone"], ["status"], ["diff"], ["add"], ["commit"], ["post"],
    ["checkout"], ["reset"], ["get"], ["log"], ["export"], ["import"], ["claim"],
    ["device"], ["device", "list"], ["device", "get"], ["device", "set"], ["device", "logs"],
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
