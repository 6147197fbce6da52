"""The Gatekeeper library's own documents: its template, its samples and its suite.

These need the verbatim library files, so they run in the upstream tier. The first test
re-derives ``tests/data/gatekeeper-verdicts.json`` from the library's Rego, so the fact
table the base tier trusts is proven against the source each time the tier runs.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from imgdigest.cli.main import main
from tests.shared import UPSTREAM
from tests.test_policy_conformance import (
    CASES,
    VERDICTS_FILE,
    evaluate,
    template_modules,
    verdicts,
)

assert UPSTREAM is not None
LIBRARY = UPSTREAM / "gatekeeper-imagedigests" / "library" / "general" / "imagedigests"
TEMPLATE = yaml.safe_load((LIBRARY / "template.yaml").read_text())


def test_the_verdict_table_is_what_the_library_template_says() -> None:
    library = template_modules(TEMPLATE)
    derived = {case_id: evaluate(library, obj, params) for case_id, obj, params in CASES}
    assert derived == verdicts(), f"regenerate {VERDICTS_FILE.name} from the library template"


def test_default_gatekeeper_output_is_the_library_template_and_constraint(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["policy", "gatekeeper"]) == 0
    template, constraint = yaml.safe_load_all(capsys.readouterr().out)
    assert template["apiVersion"] == TEMPLATE["apiVersion"] == "templates.gatekeeper.sh/v1"
    assert template["metadata"]["name"] == TEMPLATE["metadata"]["name"]
    assert template["spec"]["targets"][0]["libs"] == TEMPLATE["spec"]["targets"][0]["libs"]
    sample = LIBRARY / "samples/container-image-must-have-digest/constraint.yaml"
    assert constraint == yaml.safe_load(sample.read_text())


SUITE = yaml.safe_load((LIBRARY / "suite.yaml").read_text())
SUITE_CASES = [(t, case) for t in SUITE["tests"] for case in t["cases"]]


@pytest.mark.parametrize(("test", "case"), SUITE_CASES, ids=[c["name"] for _, c in SUITE_CASES])
def test_gatekeeper_library_samples_give_the_verdicts_of_their_suite(
    test: dict[str, Any], case: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    obj_file: Path = LIBRARY / case["object"]
    constraint = str(LIBRARY / test["constraint"])
    argv = ["check", "--compat", "gatekeeper", "--format", "json", "--constraint", constraint]
    code = main([*argv, str(obj_file)])
    messages = [f["message"] for f in json.loads(capsys.readouterr().out)["findings"]]
    obj = yaml.safe_load(obj_file.read_text())
    library = template_modules(yaml.safe_load((LIBRARY / test["template"]).read_text()))
    assert sorted(messages) == evaluate(library, obj)
    for assertion in case["assertions"]:
        wanted = assertion["violations"]
        pattern = assertion.get("message")
        hits = [m for m in messages if pattern is None or re.search(pattern, m)]
        assert len(hits) == (0 if wanted in ("no", False) else wanted), assertion
    assert code == (0 if not messages else 1)


def test_suite_expects_two_and_three_violations() -> None:
    counts = {case["name"]: case["assertions"][0]["violations"] for _, case in SUITE_CASES}
    # "no" is YAML 1.1's false
    assert counts == {"example-allowed": False, "example-disallowed": 2, "disallowed-all": 3}
