"""Where test data lives: fact tables in ``tests/data``, upstream documents in ``../shared``.

The fact tables (inputs and expected outputs) travel with the repository, so a fresh clone
tests on its own. Verbatim upstream documents (the Gatekeeper library, real-world
manifests) stay outside it: ``UPSTREAM`` is their folder when one is present, else None,
and the tests in ``tests/upstream`` run only then.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"

_given = os.environ.get("IMGDIGEST_SHARED")
_shared = Path(_given).resolve() if _given else (ROOT.parent / "shared").resolve()
UPSTREAM: Path | None = (
    _shared / "conformance" if (_shared / "conformance" / "README.md").is_file() else None
)
UPSTREAM_ABSENT = (
    f"upstream tier not run: no conformance data at {_shared / 'conformance'}"
    " (set IMGDIGEST_SHARED to the shared/ folder to run it)"
)


def corpus_entries() -> list[tuple[Path, dict[str, Any]]]:
    """(base folder, file entry) of every manifest whose images are listed by hand.

    The project's own manifests always; the real-world corpus too when the upstream
    documents are present. An entry's ``file`` is relative to its base folder.
    """
    tables = [(DATA, DATA / "k8s" / "images.json")]
    if UPSTREAM is not None:
        tables.append((UPSTREAM, UPSTREAM / "k8s-corpus" / "corpus-images.json"))
    return [
        (base, entry)
        for base, table in tables
        for entry in json.loads(table.read_text())["files"]
    ]


def corpus_id(item: tuple[Path, dict[str, Any]]) -> str:
    base, entry = item
    return ("own:" if base == DATA else "upstream:") + entry["file"].rsplit("/", 1)[-1]


TOOLS = ROOT / ".tools" / "bin"


def tool(name: str) -> str:
    """The path of a tool binary: the project's tool folder first (``make tools``), then PATH.

    A missing tool fails the test that needs it, with the command that installs it.
    """
    local = TOOLS / name
    found = str(local) if local.is_file() else shutil.which(name)
    assert found, f"{name} is needed: run `make tools` (installs kubectl and helm in {TOOLS})"
    return found
