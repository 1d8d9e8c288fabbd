"""The platform files mirror what pvr made in the real states, and
``platforms_of`` reads them back for the portal."""

from __future__ import annotations

import hashlib

import pytest

from testsupport.testdata import read_state
from trail.apps.errors import AppError
from trail.apps.platform import (
    check_name,
    digest_file,
    lxc_config,
    platforms_of,
    run_manifest,
    src_manifest,
)
from trail.apps.sources.base import Platform, ResolvedImage


def image_like(src: dict) -> ResolvedImage:
    """The ResolvedImage that pvr's src.json describes."""
    name, digest = src["docker_digest"].split("@")
    return ResolvedImage(
        name=name,
        tag=src.get("docker_tag"),
        digest=digest,
        config={"config": src["docker_config"]},
        layers=[],
        platform=Platform.parse(src.get("docker_platform", "linux/arm")),
        docker_source="remote",
        source={"kind": "registry", "location": f"{name}:{src.get('docker_tag')}"},
    )


def test_it_lists_the_platforms_of_real_states():
    assert platforms_of(read_state("vaultwarden.json")) == [
        {
            "name": "vaultwarden",
            "image": "vaultwarden/server",
            "tag": "latest",
            "digest": "sha256:e3213deb97129d9b714545efd42ad7ceb22f6e7a8d5383853e32a1940f552bcd",
            "platform": "linux/arm",
        }
    ]
    initial = platforms_of(read_state("initial_state.json"))
    assert [p["name"] for p in initial] == ["awconnect", "pv-avahi", "pvr-sdk"]  # not bsp
    assert initial[0]["image"] == "registry.gitlab.com/pantacor/pv-platforms/wifi-connect"
    assert initial[0]["tag"] == "arm32v5"
    assert platforms_of(read_state("state_bsp_update.json")) == []


def test_it_lists_a_platform_without_src_json_with_no_image():
    state = {
        "#spec": "pantavisor-service-system@1",
        "x/run.json": {"#spec": "service-manifest-run@1"},
    }
    assert platforms_of(state) == [
        {"name": "x", "image": None, "tag": None, "digest": None, "platform": None}
    ]


@pytest.mark.parametrize(
    ("state", "name"), [("vaultwarden.json", "vaultwarden"), ("pvws_with_config.json", "pvws")]
)
def test_it_writes_run_json_as_pvr_did(state, name):
    real = read_state(state)
    src = real[f"{name}/src.json"]
    expected = {k: v for k, v in real[f"{name}/run.json"].items() if k != "group"}  # from --arg
    assert run_manifest(name, src["docker_config"]) == expected


def test_it_names_volume_storage_as_pvr_did():
    real = read_state("awconnect.json")
    run = run_manifest("awconnect", real["awconnect/src.json"]["docker_config"])
    assert set(run["storage"]) == set(real["awconnect/run.json"]["storage"])


def test_it_writes_src_json_and_the_digest_file_as_pvr_did():
    real = read_state("pvws_with_config.json")
    src = real["pvws/src.json"]
    image = image_like(src)
    written = src_manifest(image)
    for key in ("#spec", "docker_config", "docker_digest", "docker_name", "docker_tag", "template"):
        assert written[key] == src[key]
    sha = hashlib.sha256(digest_file(image)).hexdigest()
    assert sha == real["pvws/root.squashfs.docker-digest"]


def test_it_keeps_what_a_person_added_to_src_json():
    real = read_state("vaultwarden.json")
    src = real["vaultwarden/src.json"]
    updated = src_manifest(image_like(src), previous=src)
    assert updated["args"] == {"PV_GROUP": "app"}
    assert updated["persistence"] == {}


def test_it_derives_the_lxc_config_from_the_image_config():
    config = read_state("vaultwarden.json")["vaultwarden/src.json"]["docker_config"]
    lines = lxc_config("vaultwarden", config).decode().splitlines()
    assert 'lxc.init.cmd = /usr/bin/dumb-init "--" "/start.sh"' in lines
    assert "lxc.init.cwd = /" in lines
    assert "lxc.environment = ROCKET_PORT=8643" in lines
    assert (
        "lxc.rootfs.path = overlayfs:/volumes/vaultwarden/root.squashfs"
        ":/volumes/vaultwarden/lxc-overlay/upper"
    ) in lines
    assert (
        "lxc.mount.entry = /volumes/vaultwarden/docker--data data none bind,rw,create=dir 0 0"
    ) in lines


@pytest.mark.parametrize(
    ("config", "command"),
    [
        ({"Cmd": ["/app/server"]}, "/app/server"),
        ({"Entrypoint": ["/init"], "Cmd": ['say "hi"']}, "/init 'say \"hi\"'"),
        ({"Entrypoint": [""], "Cmd": ["/bin/sh"]}, "/bin/sh"),
        ({}, "/sbin/init"),
    ],
)
def test_it_runs_entrypoint_and_cmd_as_docker_would(config, command):
    assert f"lxc.init.cmd = {command}\n".encode() in lxc_config("x", config)


def test_it_refuses_an_image_config_lxc_cannot_hold():
    with pytest.raises(AppError, match="line break"):
        lxc_config("x", {"Env": ["A=1\nlxc.mount.entry = / host none bind 0 0"]})


@pytest.mark.parametrize(
    "name", ["bsp", "_config", "UPPER", "a/b", "-dash", "x.json", "", "a" * 64]
)
def test_it_refuses_names_that_cannot_be_platforms(name):
    with pytest.raises(AppError) as caught:
        check_name(name)
    assert caught.value.code == "bad-name"


def test_it_accepts_the_names_real_platforms_have():
    for name in ("pv-avahi", "pvr-sdk", "awconnect", "os", "app_1.2"):
        assert check_name(name) == name
