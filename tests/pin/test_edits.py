"""Span edits, unified diffs and atomic writes (one file, or several all or nothing)."""

from __future__ import annotations

import os
import stat

import pytest

from imgdigest.edits import Edit, apply_edits, unified_diff
from imgdigest.errors import DocumentError, UsageError
from imgdigest.files import PRIVATE, TEMP_PREFIX, Replacement, replace_file, replace_files


@pytest.mark.parametrize(
    ("text", "edits", "expected"),
    [
        ("abcdef", [Edit(1, 2, "X")], "aXcdef"),
        ("abcdef", [Edit(4, 5, "Y"), Edit(0, 1, "")], "bcdYf"),
        ("abcdef", [Edit(2, 3, "Z"), Edit(2, 3, "Z")], "abZdef"),  # an alias edited twice
        ("abc", [Edit(3, 3, "!")], "abc!"),
        ("abc", [], "abc"),
    ],
)
def test_apply_edits_replaces_exact_spans(text, edits, expected):
    assert apply_edits(text, edits) == expected


@pytest.mark.parametrize("edits", [[Edit(0, 2, "x"), Edit(1, 3, "y")], [Edit(2, 9, "x")]])
def test_overlapping_or_out_of_range_edits_are_refused(edits):
    with pytest.raises(UsageError):
        apply_edits("abcdef", edits)


def test_unified_diff_marks_a_missing_final_newline_and_keeps_crlf():
    diff = unified_diff("a: 1\r\nb: 2", "a: 1\r\nb: 3", "x.yaml")
    assert diff.splitlines(keepends=True) == [
        "--- a/x.yaml\n",
        "+++ b/x.yaml\n",
        "@@ -1,2 +1,2 @@\n",
        " a: 1\r\n",
        "-b: 2\n",
        "\\ No newline at end of file\n",
        "+b: 3\n",
        "\\ No newline at end of file\n",
    ]
    assert unified_diff("same", "same", "x") == ""


def test_write_keeps_the_mode_and_leaves_no_temporary_file(tmp_path):
    f = tmp_path / "a.yaml"
    f.write_bytes(b"old\r\n")
    os.chmod(f, 0o640)
    replace_files([Replacement(f, b"new\r\n", b"old\r\n")])
    assert f.read_bytes() == b"new\r\n"
    assert stat.S_IMODE(f.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.yaml"]


def test_write_goes_through_a_symlink_and_keeps_it(tmp_path):
    real = tmp_path / "real.yaml"
    real.write_text("old")
    link = tmp_path / "link.yaml"
    link.symlink_to(real.name)
    replace_file(link, b"new")
    assert link.is_symlink() and real.read_text() == "new"


def test_a_file_changed_since_it_was_read_stops_every_write(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_text("a")
    b.write_text("b")
    b.write_text("changed by someone else")
    with pytest.raises(DocumentError, match="changed while being pinned"):
        replace_files([Replacement(a, b"A", b"a"), Replacement(b, b"B", b"b")])
    assert a.read_text() == "a"
    assert b.read_text() == "changed by someone else"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(TEMP_PREFIX)]


def test_a_file_that_cannot_be_staged_stops_every_write(tmp_path):
    (tmp_path / "a").write_text("a")
    with pytest.raises(DocumentError, match="cannot write"):
        replace_files(
            [Replacement(tmp_path / "a", b"A"), Replacement(tmp_path / "gone" / "b", b"B")]
        )
    assert (tmp_path / "a").read_text() == "a"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a"]


def test_replace_file_creates_a_missing_file(tmp_path):
    replace_file(tmp_path / "new.lock", b"{}")
    assert (tmp_path / "new.lock").read_bytes() == b"{}"


def test_replace_file_sets_the_mode_asked_for(tmp_path):
    f = tmp_path / "state.json"
    f.write_text("old")
    os.chmod(f, 0o644)
    replace_file(f, b"new", mode=PRIVATE, durable=True)
    assert f.read_bytes() == b"new"
    assert stat.S_IMODE(f.stat().st_mode) == PRIVATE
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]


def test_replace_file_raises_the_os_error_itself(tmp_path):
    """Its callers (caches) skip what they cannot write: the error stays an ``OSError``."""
    with pytest.raises(FileNotFoundError):
        replace_file(tmp_path / "gone" / "state.json", b"{}")
