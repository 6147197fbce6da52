"""Text edits by exact span, and unified diffs of the result.

Pinning must behave like a code formatter that only touches image scalars, so edits
are never made by re-serializing a parsed document: each one replaces the characters
``text[start:end]`` and everything else is copied through untouched (comments,
quoting, CRLF, trailing whitespace, byte-order mark). Writing the result is
``imgdigest.files``' job (all files or none).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

from imgdigest.errors import UsageError


@dataclass(frozen=True, slots=True)
class Edit:
    """Replace ``text[start:end]`` by ``new``."""

    start: int
    end: int
    new: str


def apply_edits(text: str, edits: Iterable[Edit]) -> str:
    """``text`` with every edit made; identical edits of one span (YAML aliases) count once."""
    ordered = sorted(set(edits), key=lambda e: (e.start, e.end))
    parts: list[str] = []
    pos = 0
    previous: Edit | None = None
    for edit in ordered:
        if not 0 <= edit.start <= edit.end <= len(text):
            raise UsageError(f"edit {edit.start}:{edit.end} outside the text")
        if previous is not None and edit.start < previous.end:
            raise UsageError(
                f"overlapping edits at characters {previous.start}:{previous.end} "
                f"and {edit.start}:{edit.end}"
            )
        parts.append(text[pos : edit.start])
        parts.append(edit.new)
        pos = edit.end
        previous = edit
    parts.append(text[pos:])
    return "".join(parts)


def unified_diff(old: str, new: str, name: str, context: int = 3) -> str:
    """A ``diff -u`` of two texts, ``a/NAME`` against ``b/NAME``; "" when equal.

    Lines keep their own endings (a CRLF file diffs as CRLF lines); a last line without
    a newline is marked the way ``diff`` and ``git apply`` expect.
    """
    if old == new:
        return ""
    name = name.lstrip("/")
    a = old.splitlines(keepends=True)
    b = new.splitlines(keepends=True)
    out: list[str] = []
    for line in difflib.unified_diff(a, b, f"a/{name}", f"b/{name}", n=context, lineterm="\n"):
        if line.endswith("\n"):
            out.append(line)
        else:
            out.append(line + "\n\\ No newline at end of file\n")
    return "".join(out)
