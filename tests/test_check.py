"""``imgdigest check`` end to end: what it reports, in which format, with which exit code."""

from __future__ import annotations

import io
import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from imgdigest.check import CheckOptions, check_paths, is_exempt, judge
from imgdigest.cli.main import main
from imgdigest.errors import ImgdigestError
from imgdigest.pinned import (
    has_digest,
    is_pinned,
    kustomize_state,
    reference_state,
    strict_problem,
)

D64 = "sha256:" + "a" * 64

DEPLOYMENT = f"""\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  template:
    spec:
      initContainers:
      - name: migrate
        image: registry.example/migrate:1
      containers:
      - name: web
        image: registry.example/web:2@{D64}
      - name: sidecar
        image: registry.k8s.io/pause:3.9
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "web.yaml").write_text(DEPLOYMENT)
    (tmp_path / "Dockerfile").write_text(f"FROM golang:1.22 AS build\nFROM alpine@{D64}\n")
    (tmp_path / "compose.yaml").write_text("services:\n  db:\n    image: postgres:16\n")
    (tmp_path / "kustomization.yaml").write_text("images:\n- name: web\n  newTag: '3'\n")
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_default_mode_reports_workload_templates_and_every_other_source(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "check", str(repo))
    assert code == 1
    lines = [line.removeprefix(f"{repo}/") for line in out.splitlines()]
    assert lines == [
        "Dockerfile:1:6: stage <build> uses an image without a digest <golang:1.22>",
        "compose.yaml:3:12: service <db> uses an image without a digest <postgres:16>",
        "kustomization.yaml:3:12: kustomize image <web> uses an image without a digest <web:3>",
        "deploy/web.yaml:9:16: initContainer <migrate> uses an image without a digest"
        " <registry.example/migrate:1>",
        "deploy/web.yaml:14:16: container <sidecar> uses an image without a digest"
        " <registry.k8s.io/pause:3.9>",
    ]
    assert "7 images in 4 files, 5 violations" in err


def test_compat_gatekeeper_reads_only_pod_specs_so_a_deployment_passes(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "check", "--compat", "gatekeeper", str(repo))
    assert (code, out) == (0, "")


EXEMPTIONS = [
    (["--exempt", "registry.k8s.io/pause*"], 1),
    (["--exempt", "registry.k8s.io/pause*", "--exempt", "registry.example/migrate:1"], 0),
    (["--exempt", "registry.example/migrate"], 2),  # exact match needs the whole string
]


@pytest.mark.parametrize(("flags", "violations"), EXEMPTIONS)
def test_exemptions_from_flags(
    repo: Path, capsys: pytest.CaptureFixture[str], flags: list[str], violations: int
) -> None:
    code, out, _ = run(capsys, "check", *flags, str(repo / "deploy"))
    assert len(out.splitlines()) == violations
    assert code == (1 if violations else 0)


def test_exemptions_from_a_config_file_and_a_constraint(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "imgdigest.yaml"
    config.write_text("exemptImages: ['registry.k8s.io/pause*']\n")
    constraint = tmp_path / "constraint.yaml"
    constraint.write_text(
        "apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: K8sImageDigests\n"
        "metadata: {name: c}\nspec:\n  parameters:\n"
        "    exemptImages: [registry.example/migrate:1]\n"
    )
    code, out, _ = run(
        capsys,
        "check",
        "--config",
        str(config),
        "--constraint",
        str(constraint),
        str(repo / "deploy"),
    )
    assert (code, out) == (0, "")


def test_strict_reports_short_and_malformed_digests_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pod = tmp_path / "pod.yaml"
    pod.write_text(
        "kind: Pod\nspec:\n  containers:\n"
        "  - {name: short, image: 'nginx@sha256:abc'}\n"
        "  - {name: upper, image: 'Nginx@" + D64 + "'}\n"
        "  - {name: good, image: 'nginx:1@" + D64 + "'}\n"
    )
    assert run(capsys, "check", str(pod))[0] == 0
    code, out, _ = run(capsys, "check", "--strict", str(pod))
    assert code == 1
    assert [line.split(": ", 1)[1] for line in out.splitlines()] == [
        "container <short> uses an image with an invalid digest <nginx@sha256:abc>"
        " (invalid checksum digest length)",
        f"container <upper> uses an invalid image reference <Nginx@{D64}>"
        " (repository name must be lowercase)",
    ]


def test_invalid_yaml_exits_2_names_file_and_line_and_other_files_are_checked(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = repo / "deploy" / "broken.yaml"
    bad.write_text("kind: Pod\nspec:\n  containers: [{name: a, image: x}\n")
    code, out, err = run(capsys, "check", str(repo / "deploy"))
    assert code == 2
    assert f"imgdigest: error: {bad}:4:1: invalid YAML" in err
    assert "container <sidecar>" in out


def test_a_missing_path_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "check", "/nonexistent/manifest.yaml")
    assert code == 2
    assert "imgdigest: error: /nonexistent/manifest.yaml: no such file or directory" in err


def test_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    stdin = io.TextIOWrapper(io.BytesIO(DEPLOYMENT.encode()))
    monkeypatch.setattr(sys, "stdin", stdin)
    code, out, _ = run(capsys, "check", "-q", "-")
    assert code == 1
    assert out.startswith("-:9:16: initContainer <migrate>")


def test_json_format(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", "--format", "json", str(repo / "deploy"))
    report = json.loads(out)
    assert code == report["summary"]["exit_code"] == 1
    assert report["summary"] == {
        "files": 1,
        "images": 3,
        "violations": 2,
        "errors": 0,
        "exit_code": 1,
    }
    first = report["findings"][0]
    assert first["rule"] == "no-digest"
    assert (first["line"], first["column"], first["kind"], first["object"]) == (
        9,
        16,
        "Deployment",
        "web",
    )
    assert first["path"] == "spec.template.spec.initContainers[0].image"
    assert first["image"] == "registry.example/migrate:1"


def test_github_format_escapes_properties_and_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pod = tmp_path / "a,b.yaml"
    pod.write_text('kind: Pod\nspec:\n  containers:\n  - {name: "100%", image: x}\n')
    code, out, _ = run(capsys, "check", "--format", "github", str(pod))
    assert code == 1
    assert out == (
        f"::error file={tmp_path}/a%2Cb.yaml,line=4,col=27,title=imgdigest check%3A no-digest::"
        "container <100%25> uses an image without a digest <x>\n"
    )


def test_sarif_format(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", "--format", "sarif", str(repo / "deploy"))
    sarif = json.loads(out)
    assert code == 1
    assert sarif["version"] == "2.1.0"
    (run_,) = sarif["runs"]
    assert run_["tool"]["driver"]["name"] == "imgdigest"
    assert run_["columnKind"] == "unicodeCodePoints"
    rules = [r["id"] for r in run_["tool"]["driver"]["rules"]]
    results = run_["results"]
    assert len(results) == 2
    for result in results:
        assert rules[result["ruleIndex"]] == result["ruleId"] == "no-digest"
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uri"].startswith("file://")
    assert results[0]["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 9,
        "startColumn": 16,
    }


def test_junit_format_has_a_case_per_file(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "deploy" / "ok.yaml").write_text(
        f"kind: Pod\nspec:\n  containers: [{{name: a, image: 'x@{D64}'}}]\n"
    )
    (repo / "deploy" / "bad.yaml").write_text(
        "kind: Pod\nspec: {containers: [{name: a, image: x}\n"
    )
    code, out, _ = run(capsys, "check", "--format", "junit", str(repo / "deploy"))
    assert code == 2
    suite = ET.fromstring(out).find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("3", "1", "1")
    cases = {case.get("name", "").rsplit("/", 1)[-1]: case for case in suite.iter("testcase")}
    assert cases["ok.yaml"].find("failure") is None
    assert cases["web.yaml"].find("failure") is not None
    assert cases["bad.yaml"].find("error") is not None


def test_exit_code_0_when_clean(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pod = tmp_path / "pod.yaml"
    pod.write_text(f"kind: Pod\nspec:\n  containers: [{{name: a, image: 'x:1@{D64}'}}]\n")
    code, out, err = run(capsys, "check", str(pod))
    assert (code, out) == (0, "")
    assert "1 image in 1 file, 0 violations" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["check"],
        ["check", "--format", "xml", "x"],
        ["check", "--compat", "opa", "x"],
    ],
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    try:  # argparse exits; a missing PATH (there is no --chart either) is the command's to say
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    assert code == 2
    assert capsys.readouterr().err.count("\n") >= 1


def test_a_malformed_config_is_a_one_line_error_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("exemptImages: nginx\n")
    code, _, err = run(capsys, "check", "--config", str(config), str(tmp_path))
    assert code == 2
    assert err.strip() == (
        f"imgdigest: error: {config}: exemptImages: expected a list of strings, got string"
    )


def test_a_constraint_file_without_a_constraint_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    constraint = tmp_path / "c.yaml"
    constraint.write_text("kind: ConfigMap\n")
    code, _, err = run(capsys, "check", "--constraint", str(constraint), str(tmp_path))
    assert code == 2
    assert "no K8sImageDigests constraint" in err


# --- the rule as a library function ------------------------------------------------------------

RULES = [
    ("nginx", False, (), "no-digest"),
    (f"nginx@{D64}", False, (), None),
    ("nginx@sha256:abc", False, (), None),
    ("nginx@sha256:abc", True, (), "invalid-digest"),
    (f"NGINX@{D64}", True, (), "invalid-reference"),
    ("nginx", False, ("nginx",), None),
    ("nginx", False, ("ngin*",), None),
    ("nginx", False, ("ngi*x",), "no-digest"),
    (None, False, (), "no-digest"),
    (3, False, (3,), None),
]


@pytest.mark.parametrize(("image", "strict", "exempt", "rule"), RULES)
def test_judge(image: object, strict: bool, exempt: tuple[object, ...], rule: str | None) -> None:
    assert judge(image, strict=strict, exempt=exempt) == rule


def test_exemption_equality_is_jsons_not_pythons() -> None:
    assert not is_exempt(True, [1])
    assert is_exempt(1, [1.0])


def test_check_paths_keeps_sites_but_not_file_texts(repo: Path) -> None:
    report = check_paths([str(repo)], CheckOptions())
    assert report.exit_code == 1
    assert len(report.files) == 4
    assert all(v.site.image for v in report.violations)


# --- what "pinned" means: imgdigest.pinned's rules, side by side ------------------------------

D64_TAGGED = f"nginx:1.25@{D64}"

#: image, has_digest (Gatekeeper), strict_problem, is_pinned(strict=True)
PINNED_RULES = [
    ("nginx", False, "invalid-reference", False),
    ("nginx:1.25", False, "invalid-reference", False),
    (f"nginx@{D64}", True, None, True),
    (D64_TAGGED, True, None, True),
    ("nginx@sha256:abc", True, "invalid-digest", False),
    ("nginx:1.25@sha256:abc", True, "invalid-digest", False),
    (f"NGINX@{D64}", True, "invalid-reference", False),
    (f"x@{D64} trailing text", True, "invalid-digest", False),  # found, not anchored
    ("nginx@SHA256:abc", False, "invalid-digest", False),
]


@pytest.mark.parametrize(("image", "gatekeeper", "problem", "strict_pinned"), PINNED_RULES)
def test_pinned_rules(
    image: str, gatekeeper: bool, problem: str | None, strict_pinned: bool
) -> None:
    assert has_digest(image) is gatekeeper
    assert is_pinned(image) is gatekeeper
    if gatekeeper:  # the strict rule only ever judges what passes Gatekeeper's
        assert strict_problem(image) == problem
    assert is_pinned(image, strict=True) is strict_pinned


#: image, normalized name:tag to resolve, digest: what pin, drift and lock read
REFERENCE_STATES = [
    ("nginx", "docker.io/library/nginx:latest", None),
    ("nginx:1.25", "docker.io/library/nginx:1.25", None),
    (D64_TAGGED, "docker.io/library/nginx:1.25", D64),
    (f"nginx@{D64}", None, D64),
]


@pytest.mark.parametrize(("image", "tagged", "digest"), REFERENCE_STATES)
def test_reference_state(image: str, tagged: str | None, digest: str | None) -> None:
    ref, found = reference_state(image)
    assert (str(ref) if ref else None, found) == (tagged, digest)


def test_reference_state_refuses_what_gatekeeper_calls_pinned() -> None:
    assert has_digest("nginx@sha256:abc")
    with pytest.raises(ImgdigestError):
        reference_state("nginx@sha256:abc")


#: name, newTag, digest -> name:tag, digest (kustomize reads newTag and digest apart)
KUSTOMIZE_STATES = [
    (("web", "3", None), ("docker.io/library/web:3", None)),
    (("web", f"3@{D64}", None), ("docker.io/library/web:3", D64)),
    (("web", "3", D64), ("docker.io/library/web:3", D64)),
    (("web", None, D64), (None, D64)),
    ((None, "3", None), (None, None)),
]


@pytest.mark.parametrize(("keys", "state"), KUSTOMIZE_STATES)
def test_kustomize_state(
    keys: tuple[str | None, str | None, str | None], state: tuple[str | None, str | None]
) -> None:
    ref, found = kustomize_state(*keys)
    assert (str(ref) if ref else None, found) == state


def test_a_short_digest_passes_check_and_fails_check_strict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pod = tmp_path / "pod.yaml"
    pod.write_text("kind: Pod\nspec:\n  containers:\n  - {name: web, image: 'nginx@sha256:abc'}\n")
    assert run(capsys, "check", str(pod))[:2] == (0, "")
    code, out, _ = run(capsys, "check", "--strict", str(pod))
    assert code == 1
    assert out == (
        f"{pod}:4:25: container <web> uses an image with an invalid digest <nginx@sha256:abc>"
        " (invalid checksum digest length)\n"
    )
