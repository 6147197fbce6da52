"""The test charts of tests/data/charts, copied with their placeholders filled in.

Values name images as ``REGISTRY/shapes/NAME``; a copy points them at a real registry
(``host``) and a repository prefix of the test's own, so tests never share images.
"""

from __future__ import annotations

import shutil
from pathlib import Path

CHARTS = Path(__file__).resolve().parent.parent / "data" / "charts"


def copy_chart(
    name: str, dest: Path, host: str = "registry.example:5000", prefix: str = "shapes"
) -> Path:
    """A copy of chart ``name`` under ``dest`` with ``REGISTRY`` and ``shapes/`` replaced."""
    root = dest / name
    shutil.copytree(CHARTS / name, root)
    for path in root.rglob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        path.write_text(
            text.replace("REGISTRY", host).replace("shapes/", f"{prefix}/"), encoding="utf-8"
        )
    return root
