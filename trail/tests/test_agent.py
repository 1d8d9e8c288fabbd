"""trail-agent pieces that need no hub: fault draws, homes, factory states, installs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trail.agent.cli import build_parser, homes_of
from trail.agent.factory import Factory
from trail.agent.home import Home
from trail.agent.update import drawn_to_fail, health_of
from trail.objects import ObjectStore
from trail.state import StateError, validate_state
from trail.tree import scan


def test_fail_share_fails_about_that_share_and_the_same_ones_every_time():
    draws = [drawn_to_fail("6b0763e504336695eccf7100", rev, 0.3) for rev in range(1, 2001)]
    assert 0.25 < sum(draws) / len(draws) < 0.35
    assert draws == [drawn_to_fail("6b0763e504336695eccf7100", rev, 0.3) for rev in range(1, 2001)]


def test_fail_share_never_fails_the_factory_revision_or_a_share_of_zero():
    assert not any(drawn_to_fail(f"{i:024x}", 0, 1.0) for i in range(50))
    assert not any(drawn_to_fail(f"{i:024x}", 5, 0.0) for i in range(50))
    assert all(drawn_to_fail(f"{i:024x}", 5, 1.0) for i in range(50))


def test_the_health_key_marks_a_revision_that_fails():
    assert health_of({"trail-agent/health.json": {"fail": True}}) == {"fail": True}
    assert health_of({"trail-agent/health.json": [1]}) == {}
    assert health_of({}) == {}


def test_one_device_lives_in_home_and_many_in_folders_under_it():
    assert homes_of(Path("/d"), 1) == [Path("/d")]
    assert homes_of(Path("/d"), 3) == [Path(f"/d/device-000{i}") for i in (1, 2, 3)]
    assert homes_of(Path("/d"), 12345)[-1] == Path("/d/device-12345")


@pytest.mark.parametrize("flag, value", [("--fail-share", "1.5"), ("--count", "0")])
def test_it_refuses_flags_out_of_range(flag, value, capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--home", "x", flag, value])


def test_the_built_in_factory_state_is_valid_and_stocks_stores(tmp_path):
    factory = Factory.build(ObjectStore(tmp_path / "seed"))
    validate_state(factory.state)
    store = ObjectStore(tmp_path / "device")
    factory.stock(store)
    shas = [v for k, v in factory.state.items() if k != "#spec" and not k.endswith(".json")]
    assert shas and not store.missing(shas)


def test_a_factory_directory_becomes_the_state(tmp_path):
    source = tmp_path / "factory"
    (source / "bsp").mkdir(parents=True)
    (source / "bsp/run.json").write_text('{"linux": "kernel.img"}')
    (source / "bsp/kernel.img").write_bytes(b"kernel")
    (source / ".pvr").mkdir()
    (source / ".pvr/json").write_text(json.dumps({"#spec": "pantavisor-service-embed@1"}))
    factory = Factory.build(ObjectStore(tmp_path / "seed"), source)
    assert factory.state["#spec"] == "pantavisor-service-embed@1"
    assert factory.state["bsp/run.json"] == {"linux": "kernel.img"}
    assert factory.store.path(factory.state["bsp/kernel.img"]).read_bytes() == b"kernel"


def test_a_factory_directory_with_bad_json_is_an_error(tmp_path):
    (tmp_path / "f").mkdir()
    (tmp_path / "f/run.json").write_text("{")
    with pytest.raises(StateError, match="run.json"):
        Factory.build(ObjectStore(tmp_path / "seed"), tmp_path / "f")


def test_a_revision_is_installed_whole_with_its_state(tmp_path):
    home = Home(tmp_path / "dev")
    factory = Factory.build(home.store)
    path = home.install(0, factory.state)
    assert path == tmp_path / "dev/trails/0"
    assert home.installed_state(0) == factory.state
    assert scan(path) == sorted(k for k in factory.state if k != "#spec")
    assert not list((tmp_path / "dev/trails").glob(".*"))  # no staging left behind
    home.set_current(0)
    assert home.current == 0


@pytest.mark.parametrize(
    "hostile", [{".git/config.json": {}}, {"bsp/kernel.img/extra.json": {}}, {".ENVRC": None}]
)
def test_a_revision_no_hub_should_have_accepted_is_refused_and_nothing_written(tmp_path, hostile):
    """A hub older than these rules may still hold such a revision: the agent refuses it."""
    home = Home(tmp_path / "dev")
    factory = Factory.build(home.store)
    sha = factory.state["bsp/kernel.img"]
    state = {**factory.state, **{k: v if v is not None else sha for k, v in hostile.items()}}
    with pytest.raises(StateError):
        home.install(1, state)
    assert not (tmp_path / "dev/trails/1").exists()
    assert not list((tmp_path / "dev/trails").glob(".*/.git"))


def test_the_identity_keeps_the_secret_apart_and_private(tmp_path):
    home = Home(tmp_path)
    home.save_identity(
        {"id": "a" * 24, "prn": "prn:::devices:/" + "a" * 24, "challenge": "x-y-1"}, "s3cret"
    )
    assert json.loads((tmp_path / "device.json").read_text()) == {
        "id": "a" * 24,
        "prn": "prn:::devices:/" + "a" * 24,
        "challenge": "x-y-1",
    }
    assert home.secret == "s3cret"
    assert (tmp_path / "secret").stat().st_mode & 0o777 == 0o600


def test_the_device_socket_lives_beside_the_api():
    from trail.agent.listen import socket_url

    assert socket_url("http://127.0.0.1:8000") == "ws://127.0.0.1:8000/ws/device/"
    assert socket_url("https://hub.example/base") == "wss://hub.example/base/ws/device/"
