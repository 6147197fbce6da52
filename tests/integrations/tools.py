"""Running the real helm and kubectl as a user would, with imgdigest on their PATH."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.shared import DATA, ROOT, tool

PLUGIN = ROOT / "integrations" / "helm" / "imgdigest"
POSTRENDER = PLUGIN / "imgdigest-postrender"
CHART = DATA / "charts" / "web"
KUSTOMIZE = ROOT / "integrations" / "kustomize"
BIN = Path(sys.executable).parent


def environment(home: Path) -> dict[str, str]:
    """A Helm home of the test's own, and this checkout's imgdigest first on PATH."""
    return {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "IMGDIGEST": str(BIN / "imgdigest"),
        "HELM_DATA_HOME": str(home / "data"),
        "HELM_CONFIG_HOME": str(home / "config"),
        "HELM_CACHE_HOME": str(home / "cache"),
    }


def run(
    binary: str, *args: str, env: dict[str, str], cwd: Path | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool(binary), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        input=stdin,
        timeout=180,
        check=False,
    )
