"""Applying layers: whiteouts, opaque directories, safe paths, verification."""

from __future__ import annotations

import io
import tracemalloc
from random import Random

import pytest

from trail.apps.errors import AppError
from trail.apps.layers import CHAR, DIR, FILE, SYMLINK, RootFS
from trail.apps.sources.base import SNIFF, Descriptor, Layer
from trail.tests.apps.images import (
    LAYER_MEDIA,
    char,
    compress,
    d,
    digest,
    f,
    hardlink,
    opaque,
    symlink,
    tar_bytes,
    whiteout,
)


def layer_of(entries, compression=None, *, blob=None, diff_id=None, size=None):
    """A Layer and its blob for ``entries``."""
    tar = tar_bytes(entries)
    data = blob if blob is not None else compress(tar, compression)
    descriptor = Descriptor(
        LAYER_MEDIA[compression], digest(data), len(data) if size is None else size
    )
    return Layer(descriptor, diff_id or digest(tar), compression), data


def apply(rootfs, entries, compression=None, **kwargs):
    layer, data = layer_of(entries, compression, **kwargs)
    rootfs.apply(io.BytesIO(data), layer, "layer")


def content(rootfs, path):
    return rootfs.blob_path(rootfs.nodes[path].blob).read_bytes()


@pytest.fixture
def rootfs(tmp_path):
    return RootFS(tmp_path / "build")


def test_it_applies_files_directories_links_and_devices_with_their_metadata(rootfs):
    apply(
        rootfs,
        [
            d("etc", mode=0o750, uid=3, gid=4),
            f("etc/shadow", "x", mode=0o4640, uid=0, gid=42),
            symlink("etc/localtime", "/usr/share/zoneinfo/UTC"),
            char("dev/null", 1, 3),
            hardlink("etc/shadow2", "etc/shadow"),
        ],
        "gzip",
    )
    etc = rootfs.nodes["etc"]
    assert (etc.kind, etc.mode, etc.uid, etc.gid) == (DIR, 0o750, 3, 4)
    shadow = rootfs.nodes["etc/shadow"]
    assert (shadow.kind, shadow.mode, shadow.gid) == (FILE, 0o4640, 42)
    assert content(rootfs, "etc/shadow") == b"x"
    assert rootfs.nodes["etc/shadow2"].blob == shadow.blob  # one content, two names
    assert rootfs.nodes["etc/localtime"].kind == SYMLINK
    assert rootfs.nodes["etc/localtime"].link == "/usr/share/zoneinfo/UTC"
    null = rootfs.nodes["dev/null"]
    assert (null.kind, null.major, null.minor) == (CHAR, 1, 3)
    assert rootfs.nodes["dev"].kind == DIR  # made because dev/null needed it


def test_it_deletes_a_whited_out_file_and_directory_of_a_lower_layer(rootfs):
    apply(rootfs, [f("a/keep", "k"), f("a/gone", "g"), f("b/x/y", "y")])
    gone_blob = rootfs.nodes["a/gone"].blob
    apply(rootfs, [whiteout("a", "gone"), whiteout("", "b")])
    assert sorted(path for path, _ in rootfs.walk()) == ["a", "a/keep"]
    assert not rootfs.blob_path(gone_blob).exists()  # its bytes are gone from disk too


def test_it_empties_an_opaque_directory_of_lower_content_only(rootfs):
    apply(rootfs, [f("data/old", "o"), f("data/sub/deep", "d"), f("other/stays", "s")])
    # The layer re-creates data/sub before the marker: lower data/sub/deep still goes.
    apply(
        rootfs, [d("data"), d("data/sub"), f("data/new", "n"), opaque("data"), f("data/late", "l")]
    )
    paths = sorted(path for path, _ in rootfs.walk())
    assert paths == ["data", "data/late", "data/new", "data/sub", "other", "other/stays"]


def test_it_ignores_a_whiteout_of_a_file_the_same_layer_adds(rootfs):
    apply(rootfs, [f("a/file", "new"), whiteout("a", "file")])
    assert content(rootfs, "a/file") == b"new"


def test_it_replaces_an_entry_of_another_kind(rootfs):
    apply(rootfs, [f("x/inside", "i"), symlink("lib", "usr/lib")])
    apply(rootfs, [f("x", "now a file"), d("lib")])
    assert rootfs.nodes["x"].kind == FILE
    assert "x/inside" not in rootfs.nodes
    assert rootfs.nodes["lib"].kind == DIR


def test_it_writes_through_a_symlinked_directory_inside_the_root(rootfs):
    apply(rootfs, [d("usr/lib"), symlink("lib", "usr/lib"), symlink("up", "../../../..")])
    apply(rootfs, [f("lib/libc.so", "c"), f("up/etc/passwd", "p")])
    assert content(rootfs, "usr/lib/libc.so") == b"c"
    # ".." past the root stays at the root, as in a chroot: no escape.
    assert content(rootfs, "etc/passwd") == b"p"


def test_it_resolves_an_absolute_symlink_from_the_image_root(rootfs, tmp_path):
    apply(rootfs, [d("real"), symlink("abs", str(tmp_path / "outside"))])
    apply(rootfs, [f("abs/file", "x")])
    assert not (tmp_path / "outside").exists()
    inside = tmp_path.as_posix().strip("/") + "/outside/file"
    assert content(rootfs, inside) == b"x"


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        (f("../escape", "x"), "contains '..'"),
        (f("a/../../escape", "x"), "contains '..'"),
        (f("/etc/passwd", "x"), "absolute path"),
        (hardlink("stolen", "/etc/shadow"), "absolute path"),
        (hardlink("stolen", "../../etc/shadow"), "contains '..'"),
        (hardlink("stolen", "missing"), "not a file of the image"),
    ],
)
def test_it_refuses_members_that_could_escape_the_root(rootfs, entry, words):
    with pytest.raises(AppError) as caught:
        apply(rootfs, [f("ok", "fine"), entry])
    assert caught.value.code == "bad-layer"
    assert words in caught.value.message


def test_it_refuses_a_symlink_loop(rootfs):
    apply(rootfs, [symlink("a", "b"), symlink("b", "a")])
    with pytest.raises(AppError, match="too many symbolic links"):
        apply(rootfs, [f("a/file", "x")])


@pytest.mark.parametrize("compression", [None, "gzip", "zstd", SNIFF])
def test_it_reads_plain_gzip_and_zstd_layers(rootfs, compression):
    stored = "zstd" if compression == SNIFF else compression
    layer, data = layer_of([f("hello", "world")], stored)
    if compression == SNIFF:  # docker save tarballs say nothing: the bytes tell
        layer = Layer(layer.descriptor, layer.diff_id, SNIFF)
    rootfs.apply(io.BytesIO(data), layer, "layer")
    assert content(rootfs, "hello") == b"world"


def test_it_refuses_a_blob_that_does_not_match_its_digest(rootfs):
    layer, data = layer_of([f("hello", "world")], "gzip")
    tampered = compress(tar_bytes([f("hello", "evil!")]), "gzip")
    with pytest.raises(AppError) as caught:
        rootfs.apply(io.BytesIO(tampered), layer, "layer 1/1")
    assert caught.value.code == "digest-mismatch"
    assert "layer 1/1" in caught.value.message


def test_it_refuses_a_layer_whose_content_does_not_match_its_diff_id(rootfs):
    with pytest.raises(AppError) as caught:
        apply(rootfs, [f("hello", "world")], "gzip", diff_id="sha256:" + "0" * 64)
    assert caught.value.code == "digest-mismatch"
    assert "diff_id" in caught.value.message


def test_it_blames_the_digest_when_a_corrupt_blob_is_not_the_one_named(rootfs):
    layer, data = layer_of([f("hello", "world")], "gzip")
    corrupt = data[:20] + b"\0" * (len(data) - 20)
    with pytest.raises(AppError) as caught:
        rootfs.apply(io.BytesIO(corrupt), layer, "layer")
    assert caught.value.code == "digest-mismatch"


def test_it_says_a_layer_is_not_a_tar_when_its_digest_is_right(rootfs):
    data = compress(b"not a tar archive at all" * 40, "gzip")
    layer = Layer(Descriptor(LAYER_MEDIA["gzip"], digest(data), len(data)), digest(b""), "gzip")
    with pytest.raises(AppError) as caught:
        rootfs.apply(io.BytesIO(data), layer, "layer 2/3")
    assert caught.value.code == "bad-layer"
    assert "layer 2/3 is not a readable tar archive" in caught.value.message


def test_it_streams_a_large_layer_with_flat_memory_and_reports_progress(rootfs):
    size = 48 * 1024 * 1024
    big = Random(7).randbytes(size)
    layer, data = layer_of([f("big.bin", big)], None)
    del big

    class Recorder:
        def __init__(self):
            self.seen = []

        def task(self, description, total):
            recorder = self

            class Task:
                def advance(self, amount):
                    recorder.seen.append(amount)

            from contextlib import nullcontext

            recorder.total = total
            return nullcontext(Task())

        def note(self, message):
            pass

    reporter = Recorder()
    stream = io.BytesIO(data)
    tracemalloc.start()
    try:
        rootfs.apply(stream, layer, "big", reporter)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024, f"peak {peak} bytes while applying a {size}-byte layer"
    assert rootfs.blob_path(rootfs.nodes["big.bin"].blob).stat().st_size == size
    assert sum(reporter.seen) == len(data) == reporter.total
    assert len(reporter.seen) > 10  # progress came in steps, not at the end


def test_it_creates_no_directory_for_a_whiteout_of_nothing(rootfs):
    apply(rootfs, [f("a/file", "x")])
    apply(rootfs, [whiteout("never/existed", "thing"), opaque("nor/this")])
    assert sorted(path for path, _ in rootfs.walk()) == ["a", "a/file"]
