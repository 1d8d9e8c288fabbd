"""trail.textdiff: what reads as text, and the one unified diff `trail diff` and the hub show."""

from __future__ import annotations

import pytest

from trail.textdiff import MAX_TEXT, NO_NEWLINE, as_text, hunks, text_diff


@pytest.mark.parametrize(
    ("data", "limit", "text"),
    [
        (b"hello\n", MAX_TEXT, "hello\n"),
        (b"", MAX_TEXT, ""),
        ("héllo ✓\n".encode(), MAX_TEXT, "héllo ✓\n"),
        (b"x" * 10, 10, "x" * 10),  # the limit itself is still text
        (b"x" * 11, 10, None),  # one byte past it is not
        (b"ELF\0\x01", MAX_TEXT, None),  # a NUL: binary
        (b"\xff\xfe", MAX_TEXT, None),  # not UTF-8
        (None, MAX_TEXT, None),  # bytes we do not have
    ],
)
def test_it_reads_small_utf8_without_nuls_as_text(data, limit, text):
    assert as_text(data, limit) == text


def test_it_diffs_lines_with_hunk_headers_and_no_file_header():
    assert hunks("a\nb\nc\n", "a\nB\nc\n") == ["@@ -1,3 +1,3 @@", " a", "-b", "+B", " c"]


def test_a_last_line_without_newline_is_marked_as_diff_does():
    assert hunks("one\n", "one\ntwo") == ["@@ -1 +1,2 @@", " one", "+two", NO_NEWLINE]
    assert hunks("one", "one\n") == ["@@ -1 +1 @@", "-one", NO_NEWLINE, "+one"]


def test_only_newline_ends_a_line():
    """A form feed, a carriage return or U+2028 inside a line is part of it (str.splitlines
    would cut there and invent a missing newline)."""
    assert hunks("a\x0cb\r\n", "a\x0cc\r\n") == ["@@ -1 +1 @@", "-a\x0cb\r", "+a\x0cc\r"]
    assert hunks("x\u2028y\n", "x\u2028z\n") == ["@@ -1 +1 @@", "-x\u2028y", "+x\u2028z"]


def test_an_added_or_removed_file_diffs_against_nothing():
    assert text_diff(b"", b"new\n") == ["@@ -0,0 +1 @@", "+new"]
    assert text_diff(b"old\n", b"") == ["@@ -1 +0,0 @@", "-old"]


def test_it_gives_nothing_when_either_side_is_not_text():
    assert text_diff(b"text\n", b"\0binary") is None
    assert text_diff(None, b"text\n") is None
    assert text_diff(b"a" * 5, b"b" * 5, limit=4) is None
