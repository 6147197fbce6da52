"""``--config FILE`` of pin and check, broken or hostile: one exit-2 line naming the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from imgdigest.cli.main import main
from imgdigest.errors import ConfigError


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"\x00\x01\x02\x03", ": configuration is a binary file, not text"),
        (b"exclude: [vendor]\n# caf\xe9\n", ":2: configuration is not UTF-8 text"),
        (b"exclude: [\n", ":2: invalid YAML: "),
        (b"a: " + b"[" * 5000 + b"]" * 5000, ":1: invalid YAML: exceeded maximum nesting depth"),
        (b"- a\n- b\n", ": the configuration must be a mapping, got list"),
        (b"just text\n", ": the configuration must be a mapping, got string"),
        (b"exemptImages: nginx\n", ": exemptImages: expected a list of strings, got string"),
        (b"exclude: [vendor, 5]\n", ": exclude[1]: expected a string, got integer"),
        (b"exclude: {a: 1}\n", ": exclude: expected a list of strings, got mapping"),
        (
            b"imagePaths: [spec.image]\n",
            ": imagePaths: expected a mapping of kind to field paths, got list",
        ),
        (b"podSpecPaths:\n  W: [true]\n", ": podSpecPaths.W[0]: expected a string, got boolean"),
        (
            b"imagePaths:\n  Task: ['spec.steps[abc].image']\n",
            ": imagePaths.Task: 'spec.steps[abc].image' is not a field path like",
        ),
        (b"a: 1\n---\nb: 2\n", ":2: invalid YAML: but found another document"),
    ],
)
@pytest.mark.parametrize("command", ["pin", "check"])
def test_bad_config_file_is_one_exit_2_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, content: bytes, problem: str
) -> None:
    (tmp_path / "k.yaml").write_text("image: reg.io/a:1\n")
    config = tmp_path / "imgdigest.yaml"
    config.write_bytes(content)
    code = main([command, "--config", str(config), str(tmp_path / "k.yaml")])
    out, err = capsys.readouterr()
    assert (code, out) == (ConfigError.exit_code, "")
    assert err.startswith(f"imgdigest: error: {config}{problem}"), err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert (tmp_path / "k.yaml").read_text() == "image: reg.io/a:1\n"


def test_missing_and_oversized_config_file(tmp_path: Path, capsys) -> None:
    code = main(["check", "--config", str(tmp_path / "nope.yaml"), str(tmp_path)])
    assert code == ConfigError.exit_code
    assert capsys.readouterr().err == (
        f"imgdigest: error: {tmp_path / 'nope.yaml'}: configuration not found\n"
    )
    big = tmp_path / "big.yaml"
    with big.open("wb") as f:
        f.truncate(17 * 1024 * 1024)  # sparse
    code = main(["check", "--config", str(big), str(tmp_path)])
    assert code == ConfigError.exit_code
    assert capsys.readouterr().err == (
        f"imgdigest: error: {big}: configuration is larger than 16 MiB\n"
    )


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"\x00\x01\x02\x03", ": constraint is a binary file, not text"),
        (b"kind: K8sImageDigests\n# caf\xe9\n", ":2: constraint is not UTF-8 text"),
        (b"kind: [\n", ":2: invalid YAML: "),
        (b"kind: ConfigMap\n", ": no K8sImageDigests constraint in this file"),
    ],
)
def test_bad_constraint_file_is_one_exit_2_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, problem: str
) -> None:
    (tmp_path / "k.yaml").write_text("image: reg.io/a:1\n")
    constraint = tmp_path / "constraint.yaml"
    constraint.write_bytes(content)
    code = main(["check", "--constraint", str(constraint), str(tmp_path / "k.yaml")])
    out, err = capsys.readouterr()
    assert (code, out) == (ConfigError.exit_code, "")
    assert err.startswith(f"imgdigest: error: {constraint}{problem}"), err
    assert err.count("\n") == 1 and "Traceback" not in err
