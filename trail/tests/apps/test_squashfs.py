"""The root.squashfs: what unsquashfs finds in it, and that it is reproducible."""

from __future__ import annotations

import os
import subprocess

import pytest

from trail.apps import squashfs
from trail.apps.commands import PullOptions, add
from trail.apps.layers import RootFS
from trail.objects import sha256_file
from trail.tests.apps.images import cat, d, demo_image, f, listing, make_image, write_oci_layout
from trail.tests.apps.test_layers import apply


@pytest.fixture
def demo_squashfs(wc, tmp_path):
    write_oci_layout(tmp_path / "layout", demo_image(), "1.0")
    add(wc, "demo", str(tmp_path / "layout"), PullOptions())
    return wc.root / "demo" / "root.squashfs"


def test_it_holds_the_layers_applied_in_order_with_whiteouts(demo_squashfs):
    entries = listing(demo_squashfs)
    assert sorted(entries) == [
        "",
        "app",
        "app/keep.txt",
        "bin",
        "data",
        "data/old",
        "data/old/new.txt",
        "dev",
        "dev/null",
        "etc",
        "etc/hostname",
        "etc/motd",
        "home",
        "home/user",
        "home/user/.profile",
        "usr",
        "usr/bin",
        "usr/bin/tool",
        "usr/bin/tool2",
        "usr/bin/via-link",
    ]
    assert cat(demo_squashfs, "etc/hostname") == b"demo2\n"  # the upper layer wins
    assert cat(demo_squashfs, "usr/bin/via-link") == b"x"  # written through bin -> usr/bin


def test_it_keeps_modes_owners_links_and_devices(demo_squashfs):
    entries = listing(demo_squashfs)
    assert entries[""] == "drwxr-xr-x 0/0"
    assert entries["usr/bin/tool"] == "-rwsr-xr-x 0/0"
    assert entries["home/user"] == "drwx------ 1000/1000"
    assert entries["home/user/.profile"] == "-rw-r--r-- 1000/1000"
    assert entries["bin"] == "lrwxrwxrwx 0/0 -> usr/bin"
    assert entries["dev/null"] == "crw-rw-rw- 0/0"


def test_it_stores_a_hard_link_once(demo_squashfs, tmp_path):
    out = tmp_path / "out"
    subprocess.run(
        ["unsquashfs", "-d", str(out), str(demo_squashfs), "usr/bin/tool", "usr/bin/tool2"],
        check=True,
        capture_output=True,
    )
    tool, tool2 = os.stat(out / "usr/bin/tool"), os.stat(out / "usr/bin/tool2")
    assert tool.st_ino == tool2.st_ino
    assert tool.st_nlink == 2


def test_it_has_no_timestamps(demo_squashfs):
    out = subprocess.run(
        ["unsquashfs", "-lln", str(demo_squashfs)], check=True, capture_output=True, text=True
    ).stdout
    assert "1970-01-01 00:00" in out and "2023" not in out
    superblock = subprocess.run(
        ["unsquashfs", "-s", str(demo_squashfs)], check=True, capture_output=True, text=True
    ).stdout
    assert "Thu Jan  1 00:00:00 1970" in superblock
    assert "Compression zstd" in superblock


def test_it_gives_the_same_sha_for_the_same_image_whatever_the_layer_compression(wc, tmp_path):
    shas = set()
    for number, compression in enumerate(["gzip", "gzip", "zstd", None]):
        layout = write_oci_layout(tmp_path / f"layout-{number}", demo_image(compression))
        add(wc, f"demo{number}", str(layout), PullOptions())
        shas.add(sha256_file(wc.root / f"demo{number}" / "root.squashfs"))
    assert len(shas) == 1


def test_it_gives_another_sha_when_a_file_changes(wc, tmp_path):
    one = write_oci_layout(tmp_path / "one", demo_image())
    two = write_oci_layout(tmp_path / "two", demo_image(hostname="other\n"))
    add(wc, "one", str(one), PullOptions())
    add(wc, "two", str(two), PullOptions())
    assert sha256_file(wc.root / "one/root.squashfs") != sha256_file(wc.root / "two/root.squashfs")


def test_it_takes_the_root_directory_mode_from_the_image(wc, tmp_path):
    image = make_image([[d(".", mode=0o700, uid=5, gid=6), f("x", "x")]])
    add(wc, "rooted", str(write_oci_layout(tmp_path / "layout", image)), PullOptions())
    # The owner stays root: squashfs-tools' -tar mode cannot set the root's.
    assert listing(wc.root / "rooted/root.squashfs")[""] == "drwx------ 0/0"


def test_it_ends_mksquashfs_when_writing_the_tree_fails(tmp_path):
    rootfs = RootFS(tmp_path / "build")
    apply(rootfs, [f("file", "x")])
    rootfs.blob_path(rootfs.nodes["file"].blob).unlink()  # the bytes vanished
    with pytest.raises(FileNotFoundError):
        squashfs.build(
            rootfs, tmp_path / "root.squashfs"
        )  # returns: mksquashfs was not left waiting
