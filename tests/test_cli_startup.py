"""What ``check`` loads to judge one file: nothing it does not use.

A CI step runs ``imgdigest check FILE`` as a new process, so its imports are part of
its time (benchmarks/README.md, "a single real-world file"). These tests run the
command in a fresh interpreter and look at ``sys.modules`` afterwards: a module that
comes back (OpenSSL's hashlib, shutil's archive modules, asyncio, the resolver, the
compiled reference grammar) fails here rather than slowly in someone's pipeline.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

POD = (
    "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n"
    "  containers:\n  - name: a\n    image: nginx:1.25\n"
)

PROBE = """
import contextlib, io, json, sys
from imgdigest.cli.main import main
with contextlib.redirect_stdout(io.StringIO()) as out:
    code = main(sys.argv[1:])
import imgdigest.reference as references, imgdigest.pinned as pinned
print(json.dumps({
    "code": code,
    "out": out.getvalue(),
    "modules": sorted(sys.modules),
    "compiled": sorted(n for n in ("REFERENCE_RE", "ANCHORED_NAME_RE", "ANCHORED_DOMAIN_RE")
                       if n in vars(references))
                + sorted(n for n in ("STRICT_REFERENCE", "NAME_THEN_DIGEST") if n in vars(pinned)),
}))
"""


def _run(*argv: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


@pytest.fixture
def pod(tmp_path: Path) -> Path:
    path = tmp_path / "pod.yaml"
    path.write_text(POD)
    return path


def test_check_of_a_file_loads_no_hashing_network_or_archive_modules(pod: Path) -> None:
    result = _run("check", str(pod))
    assert result["code"] == 1
    assert "container <a> uses an image without a digest <nginx:1.25>" in str(result["out"])
    loaded = set(result["modules"])  # type: ignore[arg-type]
    unwanted = {"hashlib", "_hashlib", "shutil", "bz2", "lzma", "asyncio", "ssl", "socket"}
    unwanted |= {"imgdigest.resolver", "imgdigest.registry", "imgdigest.pin", "aiohttp"}
    assert sorted(loaded & unwanted) == []


def test_check_compiles_neither_the_reference_grammar_nor_the_strict_rule(pod: Path) -> None:
    assert _run("check", str(pod))["compiled"] == []


def test_check_strict_compiles_the_strict_rule_on_first_use(tmp_path: Path) -> None:
    path = tmp_path / "pod.yaml"
    path.write_text(POD.replace("nginx:1.25", "nginx@sha256:abc"))
    result = _run("check", "--strict", str(path))
    assert result["code"] == 1
    assert "uses an image with an invalid digest <nginx@sha256:abc>" in str(result["out"])
    assert result["compiled"] == ["NAME_THEN_DIGEST", "STRICT_REFERENCE"]


@pytest.mark.parametrize("columns", [50, 200])
def test_help_is_as_wide_as_columns_says(columns: int) -> None:
    env = {**os.environ, "COLUMNS": str(columns)}
    done = subprocess.run(
        [sys.executable, "-m", "imgdigest", "check", "--help"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    # argparse wraps at COLUMNS - 2 wherever it may break a line (a choice list such as
    # {text,json,...} is one token); a wide terminal gets the usage line unwrapped.
    if columns == 50:
        assert [line for line in lines if len(line) > 48 and "{" not in line] == []
    else:
        assert 100 < max(len(line) for line in lines) <= 198
