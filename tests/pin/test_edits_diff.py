"""The diff made from the edits: a correct ``diff -u``, and difflib's own on pin's edits.

``pin`` prints ``edits_diff``. On random texts and edits it must apply (strictly: every
context and removed line matching) to give the edited text; on pin-like edits of the
project's manifests it must equal difflib's diff byte for byte. (On degenerate texts,
blank lines next to an insertion, difflib may align a change one line off; both apply.)
"""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from imgdigest.edits import Edit, apply_edits, edits_diff, unified_diff

DATA = Path(__file__).resolve().parents[1] / "data" / "k8s"

LINE = st.text(alphabet="ab: @\t-", max_size=12).map(lambda s: s.replace("\n", ""))
ENDING = st.sampled_from(["\n", "\n", "\n", "\r\n", ""])


@st.composite
def texts_and_edits(draw: st.DrawFn) -> tuple[str, list[Edit]]:
    lines = draw(st.lists(st.tuples(LINE, ENDING), min_size=1, max_size=40))
    text = "".join(body + (end or "\n") for body, end in lines[:-1]) + "".join(lines[-1])
    edits: list[Edit] = []
    pos = 0
    for _ in range(draw(st.integers(0, 8))):
        if pos >= len(text):
            break
        start = draw(st.integers(pos, len(text)))
        # an image value: within one line, replaced by text without a line break
        line_end = text.find("\n", start)
        stop_max = len(text) if line_end == -1 else line_end
        end = draw(st.integers(start, max(start, stop_max)))
        if end > start and text[end - 1] == "\r":
            end -= 1
        new = draw(st.text(alphabet="xyz@:", min_size=1, max_size=6))
        edits.append(Edit(start, end, new))
        pos = end + 1
    return text, edits


def patched(text: str, diff: str) -> str:
    """Apply a unified diff strictly: every context and removed line must match."""
    old = text.splitlines(keepends=True)
    lines = diff.splitlines(keepends=True)
    assert lines[0].startswith("--- a/") and lines[1].startswith("+++ b/")
    out: list[str] = []
    at = 0
    i = 2
    while i < len(lines):
        header = re.fullmatch(r"@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@\n", lines[i])
        assert header, lines[i]
        start, count = int(header[1]), int(header[2] or 1)
        first = start - 1 if count else start
        assert first >= at
        out.extend(old[at:first])
        at = first
        i += 1
        taken = 0
        while i < len(lines) and not lines[i].startswith("@@"):
            tag, body = lines[i][0], lines[i][1:]
            i += 1
            if i < len(lines) and lines[i] == "\\ No newline at end of file\n":
                body = body[:-1]
                i += 1
            if tag in " -":
                assert old[at] == body, (at, old[at], body)
                at += 1
                taken += 1
            if tag in " +":
                out.append(body)
        assert taken == count
    out.extend(old[at:])
    return "".join(out)


@settings(max_examples=400, deadline=None)
@given(texts_and_edits(), st.integers(0, 4))
def test_applies_to_the_edited_text_on_random_edits(case, context):
    text, edits = case
    new = apply_edits(text, edits)
    diff = edits_diff(text, edits, "f.yaml", context)
    assert (diff == "") == (new == text)
    if diff:
        assert patched(text, diff) == new


def test_equals_difflib_on_real_manifests():
    files = sorted(DATA.glob("*.yaml"))
    compared = 0
    for path in files:
        text = path.read_text()
        # pin-like edits: every "image:" value gets a digest
        edits = []
        at = text.find("image:")
        while at != -1:
            end = text.find("\n", at)
            end = len(text) if end == -1 else end
            edits.append(Edit(end, end, "@sha256:" + "0" * 64))
            at = text.find("image:", end)
        if not edits:
            continue
        expected = unified_diff(text, apply_edits(text, edits), path.name)
        assert edits_diff(text, edits, path.name) == expected, path
        compared += 1
    assert compared >= 3


def test_no_edits_and_no_change_give_no_diff():
    assert edits_diff("a\nb\n", [], "f") == ""
    assert edits_diff("a\nb\n", [Edit(0, 1, "a")], "f") == ""
