"""trail.textdiff: what reads as text, and the one unified diff `trail diff` and the hub show."""

from __future__ import annotations

import pytest

from trail.textdiff import MAX_TEXT, NO_NEWLINE, TextMerge, as_text, hunks, merge_lines, text_diff


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


@pytest.mark.parametrize(
    ("base", "ours", "theirs", "merged"),
    [
        ("a\nb\nc\nd\n", "A\nb\nc\nd\n", "a\nb\nc\nD\n", "A\nb\nc\nD\n"),  # apart: both kept
        ("a\nb\n", "a\nb\nc\n", "a\nb\n", "a\nb\nc\n"),  # only ours changed
        ("a\nb\n", "a\nb\n", "b\n", "b\n"),  # only theirs changed: a removal
        ("a\nb\n", "a\nB\n", "a\nB\n", "a\nB\n"),  # the same change, taken once
        ("a\nb\nc\n", "b\nc\n", "a\nb\n", "b\n"),  # each removed a different line
        ("", "x\n", "x\n", "x\n"),  # both added the same
    ],
)
def test_merge_lines_takes_what_each_side_changed(base, ours, theirs, merged):
    assert merge_lines(base, ours, theirs) == TextMerge(merged, 0)
    assert merge_lines(base, theirs, ours).text == merged  # whichever side is ours


def test_merge_lines_marks_only_the_lines_both_changed():
    done = merge_lines("a\nb\nc\nd\ne\n", "A\nb\nX\nd\ne\n", "a\nb\nY\nd\nE\n", "(rev 3)")
    assert done.conflicts == 1
    assert done.text == "A\nb\n<<<<<<< ours\nX\n=======\nY\n>>>>>>> theirs (rev 3)\nd\nE\n"


def test_merge_lines_ends_each_side_with_a_line_end_before_a_marker():
    done = merge_lines("", "ours", "theirs")
    assert done == TextMerge("<<<<<<< ours\nours\n=======\ntheirs\n>>>>>>> theirs\n", 1)
    assert merge_lines("a\n", "a\nb", "a\n").text == "a\nb"  # a clean merge keeps it as it is


def test_merge_lines_counts_each_conflict():
    done = merge_lines("a\nb\nc\n", "1\nb\n3\n", "x\nb\nz\n")
    assert done.conflicts == 2
    assert done.text.count("<<<<<<< ours\n") == 2
