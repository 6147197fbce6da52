"""Imports flow one way: no module imports from a layer above its own.

The layers are those of docs/architecture.md. Every import of an ``imgdigest`` module is
read from the source with ``ast`` (lazy imports inside functions included, since they
are dependencies all the same), so a new module must be placed in a layer here before
it can be imported at all: the table below and the page stay the map of the code.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "imgdigest"

#: Bottom first. A module may import its own layer and the layers below it.
LAYERS: list[tuple[str, set[str]]] = [
    (
        "foundation",
        {
            "_version",
            "errors",
            "display",
            "jsonfile",
            "files",
            "digest",
            "reference",
            "lazyre",
            "platform",
            "media",
            "kubernetes",
            "pinned",
            "rego",
            "layerfiles",
            "edits",
            "cache",
            "report",
        },
    ),
    ("documents", {"documents"}),
    ("registry", {"registry"}),
    ("resolver", {"resolver", "flights"}),
    ("images", {"sources", "explore", "inspect", "tagsof", "copy", "referrers"}),
    ("jobs", {"lock", "pin", "drift", "check", "policy", "audit", "krm", "signatures"}),
    ("client", {"client", "__init__"}),
    ("webhook", {"webhook"}),
    ("cli", {"cli", "__main__"}),
]

#: Layers that sit side by side and must not know each other: finding images in files
#: needs no registry, and talking to a registry needs no files.
INDEPENDENT = [("documents", "registry"), ("documents", "resolver"), ("documents", "images")]

RANK = {group: n for n, (_, groups) in enumerate(LAYERS) for group in groups}
LAYER_OF = {group: name for name, groups in LAYERS for group in groups}


def _module(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


def _group(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _imports(path: Path) -> set[str]:
    """The ``imgdigest`` modules ``path`` imports (``from imgdigest import x``: ``imgdigest.x``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "imgdigest":
                found.update(f"imgdigest.{a.name}" for a in node.names if a.name != "__version__")
            elif node.module.startswith("imgdigest."):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("imgdigest."))
    return found


FILES = sorted(SRC.rglob("*.py"))


def test_every_module_has_a_layer() -> None:
    unplaced = sorted({_group(_module(p)) for p in FILES} - set(RANK))
    where = "tests/test_layers.py and docs/architecture.md"
    assert unplaced == [], f"place these in a layer ({where}): {unplaced}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(SRC)))
def test_imports_flow_downward(path: Path) -> None:
    own = _group(_module(path))
    upward = []
    for target in sorted(_imports(path)):
        group = _group(target)
        if group == own or group not in RANK:
            continue
        if RANK[group] > RANK[own]:
            upward.append(f"{target} ({LAYER_OF[group]})")
        pair = {LAYER_OF[own], LAYER_OF[group]}
        if any(pair == set(p) for p in INDEPENDENT):
            upward.append(f"{target} ({LAYER_OF[group]}, which {LAYER_OF[own]} must not know)")
    assert upward == [], f"{path.relative_to(SRC)} ({LAYER_OF[own]}) imports {upward}"
