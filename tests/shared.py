"""Where the shared conformance data lives: ``../shared`` beside the project root."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("IMGDIGEST_SHARED", ROOT.parent / "shared")).resolve()
CONFORMANCE = SHARED / "conformance"
