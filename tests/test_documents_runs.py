"""Finding the runs ``_Masked`` cuts: only lines long enough are searched, with the same result.

``_long_runs`` must find exactly what ``_RUN`` finds over the whole text; with the run
length made tiny, random texts reach every case (runs at a block's edge, at the text's
ends, lines exactly the block length, regions starting mid-line).
"""

from __future__ import annotations

import random
import re

import pytest

from imgdigest.documents import yamltext
from imgdigest.documents.finder import scan_text

RUN_CLASS = r"[^\s\"'\\{}\[\],:#&*!|>%@`?-]"


@pytest.mark.parametrize("length", [4, 5, 8, 9])
def test_long_runs_finds_what_the_plain_search_finds(
    length: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = re.compile(RUN_CLASS + "{" + str(length) + ",}")
    monkeypatch.setattr(yamltext, "_LONG_RUN", length)
    monkeypatch.setattr(yamltext, "_RUN", plain)
    rng = random.Random(length)
    for _ in range(5000):
        text = "".join(rng.choice("aaaab \n:-é") for _ in range(rng.randint(0, 60)))
        start = rng.randint(0, len(text))
        end = rng.randint(start, len(text))
        want = [m.span() for m in plain.finditer(text, start, end)]
        assert [m.span() for m in yamltext._long_runs(text, start, end)] == want, (text, start)


def test_a_run_on_the_last_line_of_a_document_is_found() -> None:
    text = "a: " + "x" * 200_000 + "\nb: " + "Q" * 70_000 + " " + "z" * 10
    spans = [m.span() for m in yamltext._long_runs(text, 0, len(text))]
    assert spans == [(3, 200_003), (200_007, 270_007)]


def test_short_lines_are_not_searched_at_all() -> None:
    text = "key: value\n" * 20_000
    assert list(yamltext._long_runs(text, 0, len(text))) == []


def test_an_image_after_a_skipped_document_with_a_huge_line_keeps_its_position() -> None:
    skipped = "kind: ConfigMap\ndata:\n  image: " + "Zm9v" * 40_000 + "\n"
    pod = "kind: Pod\nspec:\n  containers:\n  - name: a\n    image: nginx:1.25\n"
    text = skipped + "---\n" + pod
    scan = scan_text(text, "two.yaml")
    assert [(s.image, s.line, s.column) for s in scan.sites] == [("nginx:1.25", 9, 12)]
    assert text[scan.sites[0].start : scan.sites[0].end] == "nginx:1.25"
