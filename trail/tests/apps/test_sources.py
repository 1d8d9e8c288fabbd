"""Images from files: OCI layouts, docker save tarballs, platforms and media types."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from trail.apps.commands import PullOptions, add
from trail.apps.errors import AppError
from trail.objects import sha256_file
from trail.tests.apps.images import (
    demo_image,
    digest,
    f,
    make_image,
    make_index,
    write_docker_save,
    write_oci_layout,
)
from trail.tests.apps.snapshot import snapshot


def added(wc, name, source, **options):
    add(wc, name, str(source), PullOptions(**options))
    return json.loads((wc.root / name / "src.json").read_text())


def refused(wc, source, code, **options):
    """``trail app add`` of ``source`` fails with ``code`` and changes nothing."""
    before = snapshot(wc.root)
    with pytest.raises(AppError) as caught:
        add(wc, "app", str(source), PullOptions(**options))
    assert caught.value.code == code, caught.value.message
    assert snapshot(wc.root) == before
    return caught.value.message


def test_it_adds_from_an_oci_layout_directory(wc, tmp_path):
    image = demo_image()
    src = added(wc, "demo", write_oci_layout(tmp_path / "demo-app", image, "1.0"))
    assert src["docker_name"] == "demo-app"
    assert src["docker_tag"] == "1.0"
    assert src["docker_digest"] == f"demo-app@{image.digest}"
    assert src["docker_platform"] == "linux/amd64"
    assert src["docker_source"] == "local"
    assert src["trail_source"] == {"kind": "oci-layout", "location": str(tmp_path / "demo-app")}


def test_it_names_the_image_after_a_full_reference_annotation(wc, tmp_path):
    image = demo_image()
    layout = write_oci_layout(
        tmp_path / "layout",
        image,
        "2.1",
        annotations={"io.containerd.image.name": "registry.example.com/team/app:2.1"},
    )
    src = added(wc, "demo", layout)
    assert (src["docker_name"], src["docker_tag"]) == ("registry.example.com/team/app", "2.1")


def test_it_picks_an_image_of_a_layout_by_its_ref(wc, tmp_path):
    layout = tmp_path / "layout"
    write_oci_layout(layout, make_image([[f("which", "one")]]), "one")
    two = make_image([[f("which", "two")]])
    write_oci_layout(layout, two, "two")
    src = added(wc, "demo", f"oci:{layout}:two")
    assert src["docker_digest"].endswith(two.digest)
    assert src["trail_source"]["ref"] == "two"

    message = refused(wc, layout, "not-found")
    assert "holds 2 images (one, two)" in message
    assert "oci-layout:PATH:REF" in message
    assert "no image 'three'" in refused(wc, f"oci:{layout}:three", "not-found")


def test_it_adds_from_a_docker_save_tarball_with_the_same_result(wc, tmp_path):
    image = demo_image()
    add(wc, "oci", str(write_oci_layout(tmp_path / "layout", image)), PullOptions())
    tarball = write_docker_save(tmp_path / "demo.tar", image, "team/demo:3.0")
    src = added(wc, "saved", tarball)
    assert (src["docker_name"], src["docker_tag"]) == ("team/demo", "3.0")
    # No manifest in a legacy docker save: the image is named by its config's digest.
    config_digest = json.loads(image.manifest)["config"]["digest"]
    assert src["docker_digest"] == f"team/demo@{config_digest}"
    assert src["trail_source"] == {"kind": "docker-archive", "location": str(tarball)}
    assert sha256_file(wc.root / "saved/root.squashfs") == sha256_file(
        wc.root / "oci/root.squashfs"
    )


def test_it_reads_a_docker_archive_written_by_skopeo(wc, tmp_path):
    skopeo = shutil.which("skopeo")
    assert skopeo, "skopeo is a CI dependency (.ci/system-packages.sh)"
    image = demo_image()
    layout = write_oci_layout(tmp_path / "layout", image, "1.0")
    add(wc, "ours", str(layout), PullOptions())
    archive = tmp_path / "skopeo.tar"
    subprocess.run(
        [skopeo, "--insecure-policy", "copy", f"oci:{layout}:1.0"]
        + [f"docker-archive:{archive}:skopeo/demo:1.0"],
        check=True,
        capture_output=True,
    )
    src = added(wc, "theirs", f"docker-archive:{archive}")
    assert (src["docker_name"], src["docker_tag"]) == ("skopeo/demo", "1.0")
    assert sha256_file(wc.root / "theirs/root.squashfs") == sha256_file(
        wc.root / "ours/root.squashfs"
    )


def test_it_keeps_paths_inside_the_working_copy_relative(wc):
    layout = write_oci_layout(wc.root.parent / "device" / "images" / "demo", demo_image())
    src = added(wc, "demo", layout)
    assert src["trail_source"]["location"] == "images/demo"


# --- platforms ------------------------------------------------------------------------------


@pytest.fixture
def multi(tmp_path):
    images = {
        "amd64": make_image([[f("arch", "amd64")]], architecture="amd64"),
        "arm64": make_image([[f("arch", "arm64")]], architecture="arm64", variant="v8"),
        "arm": make_image([[f("arch", "arm/v7")]], architecture="arm", variant="v7"),
    }
    return write_oci_layout(tmp_path / "multi", index=make_index(*images.values())), images


def test_it_picks_the_platform_asked_for_from_an_index(wc, multi):
    layout, images = multi
    src = added(wc, "one", layout, platform="linux/arm64")
    assert src["docker_platform"] == "linux/arm64/v8"
    assert src["docker_digest"].endswith(images["arm64"].digest)
    src = added(wc, "two", layout, platform="linux/arm/v7")
    assert src["docker_digest"].endswith(images["arm"].digest)


def test_it_takes_the_platform_from_the_working_copys_hostconfig(wc, multi):
    layout, images = multi
    hostconfig = wc.root / "_hostconfig/pvr/docker.json"
    hostconfig.parent.mkdir(parents=True)
    hostconfig.write_text(json.dumps({"platforms": ["linux/riscv64", "linux/arm/v7"]}))
    src = added(wc, "demo", layout)
    assert src["docker_digest"].endswith(images["arm"].digest)


def test_it_asks_which_platform_when_an_index_has_several(wc, multi):
    layout, _ = multi
    message = refused(wc, layout, "unsupported-platform")
    assert "linux/amd64, linux/arm/v7, linux/arm64/v8" in message
    assert "--platform" in message


def test_it_refuses_an_architecture_the_image_does_not_have(wc, multi, tmp_path):
    layout, _ = multi
    message = refused(wc, layout, "unsupported-platform", platform="linux/s390x")
    assert "no image for linux/s390x" in message
    single = write_oci_layout(
        tmp_path / "single", make_image([[f("x", "x")]], architecture="arm64")
    )
    message = refused(wc, single, "unsupported-platform", platform="linux/amd64")
    assert "is an image for linux/arm64, not for linux/amd64" in message


def test_it_refuses_an_image_for_another_os(wc, tmp_path):
    image = make_image([[f("x", "x")]], os_name="windows")
    message = refused(wc, write_oci_layout(tmp_path / "win", image), "unsupported-platform")
    assert "only Linux images" in message


# --- media types and damaged images ---------------------------------------------------------


def test_it_refuses_an_unsupported_layer_media_type(wc, tmp_path):
    image = make_image(
        [[f("x", "x")]],
        layer_media_type="application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
    )
    message = refused(wc, write_oci_layout(tmp_path / "foreign", image), "unsupported-media-type")
    assert "rootfs.foreign.diff.tar.gzip" in message


def test_it_refuses_an_artifact_that_is_not_a_container_image(wc, tmp_path):
    image = make_image([[f("x", "x")]])
    manifest = json.loads(image.manifest)
    manifest["config"]["mediaType"] = "application/vnd.cncf.helm.config.v1+json"
    layout = write_oci_layout(tmp_path / "chart", image)
    _rewrite_manifest(layout, manifest)
    message = refused(wc, layout, "unsupported-media-type")
    assert "not a container image" in message


def test_it_refuses_a_layer_whose_blob_was_altered(wc, tmp_path):
    image = demo_image()
    layout = write_oci_layout(tmp_path / "layout", image)
    layer_digest = json.loads(image.manifest)["layers"][1]["digest"]
    blob = layout / "blobs/sha256" / layer_digest.removeprefix("sha256:")
    other = make_image([[f("etc/hostname", "evil\n")]])
    blob.write_bytes(other.layers[0][1])
    message = refused(wc, layout, "digest-mismatch")
    assert "layer 2/2" in message and layer_digest in message


def test_it_refuses_a_manifest_whose_blob_was_altered(wc, tmp_path):
    image = demo_image()
    layout = write_oci_layout(tmp_path / "layout", image)
    blob = layout / "blobs/sha256" / image.digest.removeprefix("sha256:")
    blob.write_bytes(image.manifest.replace(b'"schemaVersion": 2', b'"schemaVersion":  2'))
    refused(wc, layout, "digest-mismatch")


def test_it_says_what_is_missing_from_a_directory_that_is_no_layout(wc, tmp_path):
    (tmp_path / "empty").mkdir()
    assert "not an OCI image layout" in refused(wc, tmp_path / "empty", "bad-source")
    (tmp_path / "junk.tar").write_bytes(b"not a tarball")
    assert "not a readable tar file" in refused(wc, tmp_path / "junk.tar", "bad-source")
    assert "no such directory" in refused(wc, "oci:/nonexistent/layout:1.0", "not-found")
    assert "no such file or directory" in refused(wc, "../nonexistent", "not-found")


def _rewrite_manifest(layout, manifest):
    """Replace the layout's only manifest with ``manifest``."""
    data = json.dumps(manifest).encode()
    (layout / "blobs/sha256" / digest(data).removeprefix("sha256:")).write_bytes(data)
    index = json.loads((layout / "index.json").read_text())
    index["manifests"][0].update(digest=digest(data), size=len(data))
    (layout / "index.json").write_text(json.dumps(index))
