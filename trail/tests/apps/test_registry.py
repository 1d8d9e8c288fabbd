"""Pulling from a registry (docker-registry on loopback) over the HTTP API v2."""

from __future__ import annotations

import json
import shutil
import subprocess
import tracemalloc
from pathlib import Path
from random import Random

import pytest

from trail.apps.commands import PullOptions, add
from trail.apps.errors import AppError
from trail.objects import sha256_file
from trail.tests.apps.images import (
    cat,
    demo_image,
    f,
    make_image,
    make_index,
    push,
    write_oci_layout,
)
from trail.tests.apps.snapshot import snapshot


def pull(wc, name, reference, **options):
    add(wc, name, reference, PullOptions(**options))
    return json.loads((wc.root / name / "src.json").read_text())


def refused(wc, reference, code, **options):
    before = snapshot(wc.root)
    with pytest.raises(AppError) as caught:
        add(wc, "app", reference, PullOptions(**options))
    assert caught.value.code == code, caught.value.message
    assert snapshot(wc.root) == before
    return caught.value.message


def test_it_pulls_an_image_by_tag_over_plain_http_on_loopback(wc, registry, tmp_path):
    image = demo_image()
    push(registry.url, "team/demo", "1.0", image)
    src = pull(wc, "demo", f"{registry.host}/team/demo:1.0", insecure=True)
    assert src["docker_name"] == f"{registry.host}/team/demo"
    assert src["docker_tag"] == "1.0"
    assert src["docker_digest"] == f"{registry.host}/team/demo@{image.digest}"
    assert src["docker_source"] == "remote"
    assert src["trail_source"] == {
        "kind": "registry",
        "location": f"{registry.host}/team/demo:1.0",
        "insecure": True,
    }
    digest_file = wc.root / "demo/root.squashfs.docker-digest"
    assert digest_file.read_text() == src["docker_digest"]
    # The same image from a file gives the same bytes.
    add(wc, "local", str(write_oci_layout(tmp_path / "layout", image)), PullOptions())
    assert sha256_file(wc.root / "demo/root.squashfs") == sha256_file(
        wc.root / "local/root.squashfs"
    )


def test_it_pulls_an_image_by_digest(wc, registry):
    image = make_image([[f("hello", "by digest")]])
    push(registry.url, "team/pinned", "moving", image)
    src = pull(wc, "pinned", f"{registry.host}/team/pinned@{image.digest}", insecure=True)
    assert "docker_tag" not in src
    assert src["docker_digest"] == f"{registry.host}/team/pinned@{image.digest}"
    assert cat(wc.root / "pinned/root.squashfs", "hello") == b"by digest"


def test_it_picks_a_platform_from_a_multi_platform_image(wc, registry):
    amd64 = make_image([[f("arch", "amd64")]], architecture="amd64")
    arm = make_image([[f("arch", "arm")]], architecture="arm", variant="v7")
    push(registry.url, "team/multi", "1", make_index(amd64, arm))
    src = pull(wc, "multi", f"{registry.host}/team/multi:1", insecure=True, platform="linux/arm")
    assert src["docker_digest"].endswith(arm.digest)
    assert src["docker_platform"] == "linux/arm/v7"
    assert cat(wc.root / "multi/root.squashfs", "arch") == b"arm"
    message = refused(wc, f"{registry.host}/team/multi:1", "unsupported-platform", insecure=True)
    assert "linux/amd64, linux/arm/v7" in message


def test_it_pulls_docker_media_types_pushed_by_skopeo(wc, registry, tmp_path):
    skopeo = shutil.which("skopeo")
    assert skopeo, "skopeo is a CI dependency (.ci/system-packages.sh)"
    image = demo_image()
    layout = write_oci_layout(tmp_path / "layout", image, "1.0")
    subprocess.run(
        [skopeo, "--insecure-policy", "copy", "--format", "v2s2", "--dest-tls-verify=false"]
        + [f"oci:{layout}:1.0", f"docker://{registry.host}/skopeo/demo:1.0"],
        check=True,
        capture_output=True,
    )
    pull(wc, "theirs", f"{registry.host}/skopeo/demo:1.0", insecure=True)
    add(wc, "ours", str(layout), PullOptions())
    assert sha256_file(wc.root / "theirs/root.squashfs") == sha256_file(
        wc.root / "ours/root.squashfs"
    )


def test_it_says_an_unknown_tag_or_repository_is_not_found(wc, registry):
    push(registry.url, "team/known", "1.0", make_image([[f("x", "x")]]))
    message = refused(wc, f"{registry.host}/team/known:2.0", "not-found", insecure=True)
    assert f"{registry.host}/team/known:2.0 was not found on {registry.host}" in message
    refused(wc, f"{registry.host}/team/unknown:1.0", "not-found", insecure=True)
    refused(wc, f"{registry.host}/team/known@sha256:{'0' * 64}", "not-found", insecure=True)


def test_it_refuses_a_layer_the_registry_serves_altered(wc, registry):
    image = make_image([[f("payload", "the real bytes")]])
    push(registry.url, "team/tampered", "1", image)
    layer_digest = image.manifest_json["layers"][0]["digest"]
    hexdigest = layer_digest.removeprefix("sha256:")
    data = (
        Path(registry.storage)
        / "docker/registry/v2/blobs/sha256"
        / hexdigest[:2]
        / hexdigest
        / "data"
    )
    original = data.read_bytes()
    data.write_bytes(bytes(b ^ 0xFF for b in original))  # same size, other bytes
    message = refused(wc, f"{registry.host}/team/tampered:1", "digest-mismatch", insecure=True)
    assert layer_digest in message


def test_it_needs_insecure_for_plain_http_and_allows_it_only_on_loopback(wc, registry):
    push(registry.url, "team/tls", "1", make_image([[f("x", "x")]]))
    message = refused(wc, f"{registry.host}/team/tls:1", "registry")
    assert "add --insecure" in message
    message = refused(wc, "registry.example.com/team/app:1", "insecure", insecure=True)
    assert "only for registries on this machine" in message


def test_it_pulls_a_large_layer_with_flat_memory(wc, registry):
    size = 32 * 1024 * 1024
    image = make_image([[f("big.bin", Random(3).randbytes(size))]], compression=None)
    push(registry.url, "team/big", "1", image)
    image = None  # the test's own copy is not the client's memory
    tracemalloc.start()
    try:
        pull(wc, "big", f"{registry.host}/team/big:1", insecure=True)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 12 * 1024 * 1024, f"peak {peak} bytes for a {size}-byte layer"
    listed = subprocess.run(
        ["unsquashfs", "-lln", str(wc.root / "big/root.squashfs"), "big.bin"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert f" {size} " in listed


# --- token auth -------------------------------------------------------------------------------


def test_it_follows_the_bearer_token_flow_anonymously(wc, token_registry):
    repository = "public/demo"
    push(
        token_registry.url,
        repository,
        "1",
        demo_image(),
        headers=token_registry.push_headers(repository),
    )
    seen = len(token_registry.tokens.requests)
    src = pull(wc, "demo", f"{token_registry.host}/{repository}:1", insecure=True)
    assert src["docker_tag"] == "1"
    asked = token_registry.tokens.requests[seen:]
    assert asked and all(r["user"] is None for r in asked)
    assert asked[0]["scope"] == f"repository:{repository}:pull"


def test_it_sends_credentials_to_the_token_service(wc, token_registry):
    repository = "private/demo"
    push(
        token_registry.url,
        repository,
        "1",
        demo_image(),
        headers=token_registry.push_headers(repository),
    )
    message = refused(wc, f"{token_registry.host}/{repository}:1", "auth", insecure=True)
    assert "refused" in message
    message = refused(
        wc,
        f"{token_registry.host}/{repository}:1",
        "auth",
        insecure=True,
        username="alice",
        password="wrong",
    )
    assert "refused these credentials" in message
    seen = len(token_registry.tokens.requests)
    pull(
        wc,
        "demo",
        f"{token_registry.host}/{repository}:1",
        insecure=True,
        username="alice",
        password="s3cret",
    )
    assert {r["user"] for r in token_registry.tokens.requests[seen:]} == {"alice"}
