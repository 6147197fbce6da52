"""Documents left unparsed must be ones that cannot hold an image.

``check`` and ``pin`` do not parse a document whose text has no word an image key is
spelled with, or whose ``kind:`` never holds one (ConfigMap, CustomResourceDefinition
...): that is most of the time saved on install bundles. Each case here is a document
that does hold an image although a text test could take it for one that does not; the
default run must find exactly what ``--parse-all`` (which parses everything) finds.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from imgdigest.documents import FinderOptions, scan_text
from imgdigest.kubernetes import ExtraPaths

DEPLOYMENT_SPEC = (
    "spec:\n  template:\n    spec:\n      containers:\n      - name: web\n"
    "        image: nginx:1.25\n"
)

HOLD_AN_IMAGE = {
    # escapes spell the keys: no "image" or "container" text in the document at all
    "escaped keys": (
        'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  "c\\x6fntainers":\n'
        '  - name: web\n    "im\\x61ge": nginx:1.25\n'
    ),
    "unicode-escaped keys": (
        'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  "\\u0063ontainers":\n'
        '  - name: web\n    "\\u0069mage": nginx:1.25\n'
    ),
    # a plain value goes on over an indented line: the kind is "ConfigMap Deployment"
    "kind continued on the next line": (
        "apiVersion: apps/v1\nkind: ConfigMap\n  Deployment\nmetadata: {name: web}\n"
        + DEPLOYMENT_SPEC
    ),
    # the first word of the value is a kind that holds nothing; the value is not
    "kind with more after the word": (
        "apiVersion: apps/v1\nkind: ConfigMap-like\nmetadata: {name: web}\n" + DEPLOYMENT_SPEC
    ),
    # a duplicate key: the last one is the one YAML readers keep
    "kind given twice": (
        "apiVersion: apps/v1\nkind: ConfigMap\nmetadata: {name: web}\nkind: Deployment\n"
        + DEPLOYMENT_SPEC
    ),
    "kind given twice, the second with a space before the colon": (
        "apiVersion: apps/v1\nkind: ConfigMap\nmetadata: {name: web}\nkind : Deployment\n"
        + DEPLOYMENT_SPEC
    ),
}


@pytest.mark.parametrize("text", HOLD_AN_IMAGE.values(), ids=HOLD_AN_IMAGE.keys())
def test_a_document_that_holds_an_image_is_parsed(text: str) -> None:
    full = scan_text(text, "doc.yaml", options=FinderOptions(parse_all=True))
    assert full.errors == []
    assert [s.image for s in full.sites] == ["nginx:1.25"]
    default = scan_text(text, "doc.yaml")
    assert [(s.image, s.line, s.column) for s in default.sites] == [
        (s.image, s.line, s.column) for s in full.sites
    ]


ENGINE = "apiVersion: example.com/v1\nkind: Engine\nmetadata: {name: e}\nspec:\n  ref: nginx:1.25\n"


def test_a_configured_image_path_is_read_whatever_its_key_is_named() -> None:
    extra = ExtraPaths(images={"Engine": (("spec", "ref"),)})
    scan = scan_text(ENGINE, "engine.yaml", options=FinderOptions(extra=extra))
    assert [(s.image, s.line, s.column, s.field_path) for s in scan.sites] == [
        ("nginx:1.25", 5, 8, "spec.ref")
    ]


def test_check_reports_a_configured_image_path_without_parse_all(tmp_path: Path) -> None:
    (tmp_path / "engine.yaml").write_text(ENGINE)
    config = tmp_path / "imgdigest.yaml"
    config.write_text('imagePaths:\n  Engine: ["spec.ref"]\n')
    done = subprocess.run(
        [sys.executable, "-m", "imgdigest", "check", "--config", str(config), "engine.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1, done.stderr
    assert done.stdout == (
        "engine.yaml:5:8: field <spec.ref> uses an image without a digest <nginx:1.25>\n"
    )


SKIPPED = {
    "ConfigMap": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  image: [\n",
    "quoted kind with a comment": (
        'apiVersion: v1\nkind: "Secret"   # a comment\n\n# another\nmetadata: {name: c}\n'
        "data:\n  image: [\n"
    ),
    "no image word": "apiVersion: v1\nkind: Thing\nmetadata: {name: c}\ndata: [\n",
    "kind on the first line, JSON escapes": (
        'kind: ConfigMap\napiVersion: v1\ndata:\n  a.json: "{\\"container\\": 1}"\n  b: [\n'
    ),
}


@pytest.mark.parametrize("text", SKIPPED.values(), ids=SKIPPED.keys())
def test_a_document_that_cannot_hold_an_image_is_still_skipped(text: str) -> None:
    # Each is invalid YAML after its kind: only a parse would report it.
    assert scan_text(text, "doc.yaml").errors == []
    assert len(scan_text(text, "doc.yaml", options=FinderOptions(parse_all=True)).errors) == 1
