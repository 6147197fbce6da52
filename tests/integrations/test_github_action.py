"""action.yml: the composite GitHub Action, its steps run as a runner runs them.

A runner substitutes ``${{ inputs.X }}`` in each step's ``env`` and runs ``run`` with
``bash -e``; the test does the same (with this checkout's imgdigest on PATH instead of the
install step's venv) and reads the output as GitHub does: workflow commands, and the
problem matcher the step registers applied to every line.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.pin.helpers import fake_digest
from tests.shared import ROOT

from .tools import BIN

ACTION = yaml.safe_load((ROOT / "action.yml").read_text())
EXPRESSION = re.compile(r"\$\{\{\s*inputs\.([a-z-]+)\s*\}\}")
POD = "kind: Pod\nspec:\n  containers:\n  - name: a\n    image: registry.invalid/a:1\n"


def matcher() -> re.Pattern[str]:
    config = json.loads((ROOT / "integrations" / "github" / "imgdigest-matcher.json").read_text())
    (entry,) = config["problemMatcher"]
    (pattern,) = entry["pattern"]
    assert (pattern["file"], pattern["line"], pattern["message"]) == (1, 2, 3)
    return re.compile(pattern["regexp"])


def run_step(step: dict, cwd: Path, tmp: Path, **inputs: str) -> subprocess.CompletedProcess[str]:
    given = {name: spec.get("default", "") for name, spec in ACTION["inputs"].items()}
    given.update({k.replace("_", "-"): v for k, v in inputs.items()})
    env = {name: EXPRESSION.sub(lambda m: given[m.group(1)], value)
           for name, value in step.get("env", {}).items()}  # fmt: skip
    environment = {
        **os.environ,
        **env,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "GITHUB_ACTION_PATH": str(ROOT),
        "RUNNER_TEMP": str(tmp),
        "GITHUB_PATH": str(tmp / "github_path"),
    }
    assert step["shell"] == "bash"
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", step["run"]],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "k8s").mkdir(parents=True)
    (root / "k8s" / "pod.yaml").write_text(POD)
    (root / "Dockerfile").write_text("FROM registry.invalid/base:2\n")
    (root / "images.lock").write_text(
        f"registry.invalid/a:1@{fake_digest('a')}\nregistry.invalid/base:2@{fake_digest('b')}\n"
    )
    return root


def main_step() -> dict:
    (step,) = [s for s in ACTION["runs"]["steps"] if "IMGDIGEST_COMMAND" in s.get("env", {})]
    return step


def test_action_is_a_composite_whose_inputs_are_all_used():
    assert ACTION["runs"]["using"] == "composite"
    used = {m for s in ACTION["runs"]["steps"] for v in s.get("env", {}).values()
            for m in EXPRESSION.findall(v)}  # fmt: skip
    assert used == set(ACTION["inputs"]) == {"command", "paths", "args", "python"}
    assert all(spec["description"] for spec in ACTION["inputs"].values())
    install = ACTION["runs"]["steps"][0]
    assert 'pip install --quiet "$GITHUB_ACTION_PATH"' in install["run"]
    assert '>> "$GITHUB_PATH"' in install["run"]


def test_check_annotates_each_unpinned_image(repo, tmp_path):
    done = run_step(main_step(), repo, tmp_path, paths="k8s\nDockerfile")
    assert done.returncode == 1, done.stderr
    errors = [line for line in done.stdout.splitlines() if line.startswith("::error ")]
    assert len(errors) == 2
    assert errors[0].startswith("::error file=k8s/pod.yaml,line=5,")
    assert errors[1].startswith("::error file=Dockerfile,line=1,")


def test_drift_findings_become_annotations_through_the_matcher(repo, tmp_path):
    done = run_step(main_step(), repo, tmp_path, command="drift", args="--offline")
    assert done.returncode == 1, done.stderr
    assert f"::add-matcher::{ROOT}/integrations/github/imgdigest-matcher.json" in done.stdout
    found = sorted(
        (m[1], int(m[2]), m[3])
        for line in done.stdout.splitlines() + done.stderr.splitlines()
        if (m := matcher().match(line))
    )
    assert found == [
        ("Dockerfile", 1, "registry.invalid/base:2: not pinned to a digest"),
        ("k8s/pod.yaml", 5, "registry.invalid/a:1: not pinned to a digest"),
    ]


def test_pin_writes_the_digests_from_a_lock_offline(repo, tmp_path):
    done = run_step(main_step(), repo, tmp_path, command="pin", args="--lock images.lock --offline")
    assert done.returncode == 0, done.stderr
    assert (repo / "k8s" / "pod.yaml").read_text() == POD.replace(
        "a:1\n", f"a:1@{fake_digest('a')}\n"
    )
    assert (repo / "Dockerfile").read_text() == f"FROM registry.invalid/base:2@{fake_digest('b')}\n"
    again = run_step(main_step(), repo, tmp_path, command="drift", args="--offline")
    assert again.returncode == 0, again.stderr


def test_pin_failure_is_annotated_and_writes_nothing(repo, tmp_path):
    (repo / "images.lock").write_text(f"registry.invalid/a:1@{fake_digest('a')}\n")
    done = run_step(main_step(), repo, tmp_path, command="pin", args="--lock images.lock --offline")
    assert done.returncode == 3
    assert (repo / "k8s" / "pod.yaml").read_text() == POD
    lines = [m.groups() for line in done.stderr.splitlines() if (m := matcher().match(line))]
    assert lines == [("Dockerfile", "1", "registry.invalid/base:2: not in the lock file (offline)")]


def test_an_unknown_command_is_an_error_annotation_with_exit_2(repo, tmp_path):
    done = run_step(main_step(), repo, tmp_path, command="lint")
    assert done.returncode == 2
    assert "::error title=imgdigest::command must be check, drift or pin, not 'lint'" in done.stdout


def test_matcher_leaves_imgdigests_other_lines_alone():
    for line in (
        "imgdigest: 2 images in 1 file: 1 unpinned, 0 moved, 0 missing, 0 failed",
        "imgdigest: error: -: expected a ResourceList",
        "::error file=a.yaml,line=1::x",
        "  indented: 3: not a finding",
    ):
        assert matcher().match(line) is None, line
