"""``trail keygen`` and ``trail sig add|ls|update`` in a working copy."""

from __future__ import annotations

import json

import pytest

from trail.cli import main
from trail.objects import ObjectStore
from trail.workcopy import WorkCopy


@pytest.fixture
def wc(tmp_path, monkeypatch):
    monkeypatch.setenv("TRAIL_CONFIG_DIR", str(tmp_path / "config"))
    for name in ("TRAIL_SIG_KEY", "TRAIL_SIG_X5C", "TRAIL_SIG_PUBKEY", "TRAIL_SIG_CACERTS"):
        monkeypatch.delenv(name, raising=False)
    store = ObjectStore(tmp_path / "cache")
    state = {
        "#spec": "pantavisor-service-system@1",
        "bsp/run.json": {"linux": "kernel.img"},
        "bsp/kernel.img": store.add_bytes(b"kernel"),
        "app/run.json": {"name": "app"},
        "app/root.squashfs": store.add_bytes(b"squash"),
    }
    config = {"hub": "http://hub.test", "trail-id": "a" * 24, "rev": 1, "latest": 1}
    copy = WorkCopy.create(tmp_path / "kiosk", config, state, store)
    monkeypatch.chdir(copy.root)
    return copy


def ls_json(capsys, *extra):
    capsys.readouterr()
    code = main(["sig", "ls", "--json", *extra])
    return code, json.loads(capsys.readouterr().out)


def test_it_signs_parts_and_lists_them(wc, capsys):
    assert main(["keygen"]) == 0
    assert main(["sig", "add", "--part", "bsp"]) == 0

    document = json.loads((wc.root / "_sigs/bsp.json").read_text())
    assert document["#spec"] == "pvs@2" and "payload" not in document
    assert "_sigs/bsp.json" in wc.added
    code, report = ls_json(capsys)
    assert code == 0
    assert [(s["key"], s["status"]) for s in report["signatures"]] == [("_sigs/bsp.json", "ok")]
    assert report["uncovered"] == ["app/root.squashfs", "app/run.json"]


def test_it_exits_non_zero_with_strict_until_every_key_is_signed(wc, capsys):
    main(["keygen"])
    main(["sig", "add", "--part", "bsp"])
    assert main(["sig", "ls", "--strict"]) == 1
    assert "app/run.json" in capsys.readouterr().out

    main(["sig", "add", "--part", "app"])
    assert main(["sig", "ls", "--strict"]) == 0
    assert main(["commit", "-m", "signed"]) == 0
    assert main(["sig", "ls", "--strict"]) == 0


def test_it_shows_a_tampered_file_as_failing(wc, capsys):
    main(["keygen"])
    main(["sig", "add"])
    main(["commit", "-m", "signed"])
    (wc.root / "bsp/run.json").write_text('{"linux": "evil.img"}\n')

    code, report = ls_json(capsys, "--strict")
    assert code == 1
    [check] = report["signatures"]
    assert (check["key"], check["status"]) == ("_sigs/all.json", "bad-signature")
    assert "bsp/run.json" in report["uncovered"]


def test_it_updates_signatures_with_a_new_key(wc, capsys, tmp_path):
    main(["keygen"])
    main(["sig", "add", "--part", "bsp"])
    main(["keygen", str(tmp_path / "new")])
    new = tmp_path / "new"
    cacerts = str(new / "cacerts.default.pem")
    assert ls_json(capsys, "--cacerts", cacerts)[1]["signatures"][0]["status"] == "untrusted"

    code = main(
        ["sig", "update", "bsp", "--key", str(new / "key.default.pem"),
         "--x5c", str(new / "x5c.default.pem")]
    )  # fmt: skip
    assert code == 0
    _, report = ls_json(capsys, "--cacerts", cacerts)
    assert report["signatures"][0]["status"] == "ok"
    assert report["signatures"][0]["covers"] == ["bsp/kernel.img", "bsp/run.json"]


def test_it_refuses_a_chain_that_is_not_the_keys(wc, capsys, tmp_path):
    main(["keygen"])
    main(["keygen", str(tmp_path / "other")])
    code = main(["sig", "add", "--x5c", str(tmp_path / "other/x5c.default.pem")])
    assert code == 1
    assert "is not the certificate of key" in capsys.readouterr().err
    assert not (wc.root / "_sigs").exists()


def test_it_asks_for_a_key_when_there_is_none(wc, capsys):
    assert main(["sig", "add", "--part", "bsp"]) == 1
    assert "trail keygen" in capsys.readouterr().err


def test_it_keeps_the_development_key_private(wc, tmp_path):
    main(["keygen", str(tmp_path / "k")])
    assert (tmp_path / "k/key.default.pem").stat().st_mode & 0o077 == 0
    assert main(["keygen", str(tmp_path / "k")]) == 1
