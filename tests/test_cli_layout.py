"""Command modules of the CLI do not import one another.

What two commands share lives in ``cli/_common.py`` or ``cli/_files.py``; a command that
imports another drags that command's imports into its start-up and invites cycles.
"""

from __future__ import annotations

import ast
from pathlib import Path

CLI = Path(__file__).resolve().parents[1] / "src" / "imgdigest" / "cli"


def _imported_modules(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


def test_the_command_modules_are_found() -> None:
    assert {"cmd_pin", "cmd_drift", "cmd_lock", "cmd_check"} <= {
        p.stem for p in CLI.glob("cmd_*.py")
    }


def test_no_command_module_imports_another() -> None:
    offenders = []
    for path in sorted(CLI.glob("cmd_*.py")):
        for name in _imported_modules(ast.parse(path.read_text(), str(path))):
            last = name.rsplit(".", 1)[-1]
            if last.startswith("cmd_") and last != path.stem:
                offenders.append(f"{path.name} imports {name}")
    assert offenders == []


def test_the_check_sees_an_import_of_a_command() -> None:
    # The detector itself must be able to fail: both spellings of the import are caught.
    tree = ast.parse("from imgdigest.cli.cmd_pin import run\nfrom imgdigest.cli import cmd_lock\n")
    found = {n.rsplit(".", 1)[-1] for n in _imported_modules(tree)}
    assert {"cmd_pin", "cmd_lock"} <= found
