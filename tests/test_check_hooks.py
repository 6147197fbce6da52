"""The pre-commit hooks this repository offers name real commands and the right files."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

from imgdigest.cli.main import build_parser

HOOKS = yaml.safe_load((Path(__file__).resolve().parents[1] / ".pre-commit-hooks.yaml").read_text())

FILES = [
    ("deploy/app.yaml", True),
    ("deploy/app.yml", True),
    ("list.json", True),
    ("Dockerfile", True),
    ("build/Containerfile", True),
    ("build/Dockerfile.prod", True),
    ("web.Dockerfile", True),
    ("README.md", False),
    ("src/main.py", False),
    ("NotADockerfile", False),
]


def test_both_hooks_are_offered() -> None:
    assert [hook["id"] for hook in HOOKS] == ["imgdigest-check", "imgdigest-pin"]


@pytest.mark.parametrize("hook", HOOKS, ids=[h["id"] for h in HOOKS])
def test_hook_entry_parses_as_an_imgdigest_command(hook: dict[str, object]) -> None:
    argv = shlex.split(str(hook["entry"]))
    assert argv[0] == "imgdigest"
    args = build_parser().parse_args([*argv[1:], "some/file.yaml"])
    assert args.paths == ["some/file.yaml"]
    assert hook["language"] == "python"


@pytest.mark.parametrize(("path", "wanted"), FILES)
def test_hooks_select_manifests_and_dockerfiles(path: str, wanted: bool) -> None:
    for hook in HOOKS:
        assert bool(re.search(str(hook["files"]), path)) == wanted
