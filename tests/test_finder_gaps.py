"""Finder gaps seen in real files, through the real CLI: Dockerfile parser directives,
Actions services written as strings, and a tag written inside a kustomize ``newName``."""

from __future__ import annotations

from pathlib import Path

import pytest

from imgdigest.cli.main import main

D64 = "sha256:" + "a" * 64
E64 = "sha256:" + "e" * 64


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def lock(tmp_path: Path) -> str:
    path = tmp_path / "images.lock"
    path.write_text(
        f"docker.io/library/nginx:1.25@{D64}\n"
        f"docker.io/library/node:18@{D64}\n"
        f"docker.io/library/postgres:10@{E64}\n"
    )
    return str(path)


# With the backtick as escape character the FROM continues onto the next line and names
# nginx; with the default backslash it names the image "`" and "nginx:1.25" is noise.
BODY = "FROM `\n    nginx:1.25\n"


@pytest.mark.parametrize(
    ("head", "backtick"),
    [
        ("# escape=`\n", True),
        ("#escape=`\n", True),
        ("  # escape = `  \n", True),  # leading space is stripped, spaces around = allowed
        ("# syntax=docker/dockerfile:1\n# EsCaPe=`\n", True),  # names are case-insensitive
        ("# check=skip=all\n# escape=`\n", True),  # check is a directive too
        ("# escape=`\n# escape=\\\n", True),  # a repeat: BuildKit refuses it, the first stands
        ("# escape=`\r\n", True),
        ("# a comment\n# escape=`\n", False),  # after a plain comment: a comment
        ("\n# escape=`\n", False),  # after a blank line
        ("# foo=bar\n# escape=`\n", False),  # after an unknown name
        ("# escape=\n# escape=`\n", False),  # an empty value is no directive
        ("FROM alpine AS a\n# escape=`\n", False),  # after an instruction
    ],
)
def test_dockerfile_directives_follow_buildkit(
    head: str, backtick: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "Dockerfile"
    path.write_text(head + BODY, newline="")
    code, out, _ = run(capsys, "check", str(path))
    assert code == 1
    body = head.count("\n") + 1  # the line of BODY's FROM
    stage = 1 if head.startswith("FROM") else 0
    if backtick:
        want = f"{path}:{body + 1}:5: stage <0> uses an image without a digest <nginx:1.25>\n"
    else:
        want = f"{path}:{body}:6: stage <{stage}> uses an image without a digest <`>\n"
    if stage:
        want = f"{path}:1:6: stage <a> uses an image without a digest <alpine>\n" + want
    assert out == want


WORKFLOW = """\
on: push
jobs:
  test:
    runs-on: ubuntu-latest
    container: node:18
    services: {postgres: postgres:10}
    steps:
    - run: true
"""


def test_actions_container_and_service_written_as_strings(
    tmp_path: Path, lock: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / ".github" / "workflows" / "ci.yml"
    path.parent.mkdir(parents=True)
    path.write_text(WORKFLOW)
    code, out, _ = run(capsys, "check", str(tmp_path))
    assert code == 1
    assert out == (
        f"{path}:5:16: job <test> container uses an image without a digest <node:18>\n"
        f"{path}:6:26: job <test> service <postgres> uses an image without a digest"
        " <postgres:10>\n"
    )
    code, _, err = run(capsys, "pin", "--offline", "--lock", lock, "--write", str(tmp_path))
    assert code == 0, err
    assert path.read_text() == WORKFLOW.replace("node:18", f"node:18@{D64}").replace(
        "postgres:10", f"postgres:10@{E64}"
    )
    assert run(capsys, "check", str(tmp_path))[:2] == (0, "")


KUSTOMIZATION = "images:\n- name: web\n  newName: nginx:1.25  # keep\n"


def test_a_tag_inside_kustomize_new_name_is_checked_and_pinned(
    tmp_path: Path, lock: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "kustomization.yaml"
    path.write_text(KUSTOMIZATION)
    code, out, _ = run(capsys, "check", str(tmp_path))
    assert code == 1
    assert (
        out == f"{path}:3:12: kustomize image <web> uses an image without a digest <nginx:1.25>\n"
    )
    code, _, err = run(capsys, "pin", "--offline", "--lock", lock, "--write", str(tmp_path))
    assert code == 0, err
    assert path.read_text() == KUSTOMIZATION.replace("nginx:1.25", f"nginx:1.25@{D64}")
    assert run(capsys, "check", str(tmp_path))[:2] == (0, "")


def test_kustomize_new_name_without_a_tag_is_still_a_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "kustomization.yaml"
    path.write_text("images:\n- name: web\n  newName: registry.example:5000/nginx\n")
    code, out, err = run(capsys, "check", str(tmp_path))
    assert (code, out) == (0, "")
    assert err.splitlines()[0] == (
        f"imgdigest: note: {path}:3: kustomize image registry.example:5000/nginx"
        " sets no tag or digest"
    )
