"""Text edits by exact span, and unified diffs of the result.

Pinning must behave like a code formatter that only touches image scalars, so edits
are never made by re-serializing a parsed document: each one replaces the characters
``text[start:end]`` and everything else is copied through untouched (comments,
quoting, CRLF, trailing whitespace, byte-order mark). Writing the result is
``imgdigest.files``' job (all files or none).
"""

from __future__ import annotations

import bisect
import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import accumulate

from imgdigest.errors import UsageError

#: What ``str.splitlines`` breaks lines at besides "\n" (tested one by one with ``in``:
#: a character class searched through a large text costs forty times as much).
_OTHER_BREAKS = "\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"


def _only_newlines(text: str) -> bool:
    return not any(c in text for c in _OTHER_BREAKS)


@dataclass(frozen=True, slots=True)
class Edit:
    """Replace ``text[start:end]`` by ``new``."""

    start: int
    end: int
    new: str


def ordered_edits(text: str, edits: Iterable[Edit]) -> list[Edit]:
    """The edits in text order, identical ones of one span (YAML aliases) once; a
    ``UsageError`` for one outside ``text`` or two that overlap."""
    ordered = sorted(set(edits), key=lambda e: (e.start, e.end))
    previous: Edit | None = None
    for edit in ordered:
        if not 0 <= edit.start <= edit.end <= len(text):
            raise UsageError(f"edit {edit.start}:{edit.end} outside the text")
        if previous is not None and edit.start < previous.end:
            raise UsageError(
                f"overlapping edits at characters {previous.start}:{previous.end} "
                f"and {edit.start}:{edit.end}"
            )
        previous = edit
    return ordered


def apply_edits(text: str, edits: Iterable[Edit]) -> str:
    """``text`` with every edit made; identical edits of one span (YAML aliases) count once."""
    parts: list[str] = []
    pos = 0
    for edit in ordered_edits(text, edits):
        parts.append(text[pos : edit.start])
        parts.append(edit.new)
        pos = edit.end
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
    out = [
        line
        for line in difflib.unified_diff(a, b, f"a/{name}", f"b/{name}", n=context, lineterm="\n")
    ]
    return "".join(_marked(line) for line in out)


def edits_diff(text: str, edits: Iterable[Edit], name: str, context: int = 3) -> str:
    """The ``diff -u`` that :func:`unified_diff` gives for ``apply_edits(text, edits)``,
    made from the edits themselves.

    The edits already say which lines change, so there is nothing to search for: the
    lines around each edit are the whole diff. difflib's matching is quadratic in the
    lines of a region and made a dry run of ``pin`` over a large tree mostly diffing.
    """
    ordered = sorted(set(edits), key=lambda e: (e.start, e.end))
    if not ordered:
        return ""
    lines = text.splitlines(keepends=True)
    starts = list(accumulate(map(len, lines), initial=0))  # in C: a loop here was most of it

    def line_of(offset: int) -> int:
        return max(0, min(len(lines) - 1, bisect.bisect_right(starts, offset) - 1))

    # Blocks of whole old lines [first, stop) and the lines that replace them.
    blocks: list[tuple[int, int, list[str]]] = []
    pending: list[Edit] = []
    first = stop = 0
    for edit in ordered:
        a0 = line_of(edit.start)
        a1 = line_of(max(edit.start, edit.end - 1)) + 1
        if pending and a0 <= stop:  # touching lines are one block, as difflib makes them
            pending.append(edit)
            stop = max(stop, a1)
            continue
        if pending:
            blocks.append(_block(text, starts, first, stop, pending))
        pending, first, stop = [edit], a0, a1
    blocks.append(_block(text, starts, first, stop, pending))
    blocks = [trimmed for b in blocks if (trimmed := _trimmed(b, lines)) is not None]
    if not blocks:
        return ""
    name = name.lstrip("/")
    out = [f"--- a/{name}\n", f"+++ b/{name}\n"]
    # Where every line ends in "\n" and nothing else breaks lines, no line is marked
    # "No newline" and a run of lines is prefixed and joined in one call.
    plain = (
        text.endswith("\n")
        and _only_newlines(text)
        and all("\n" not in e.new and _only_newlines(e.new) for e in ordered)
        and "\n" not in name
    )

    def put(prefix: str, run: list[str]) -> None:
        if not run:
            return
        if plain:
            out.append(prefix + prefix.join(run))
        else:
            out.extend(prefix + line for line in run)

    shift = 0  # new line number minus old, before the current hunk
    hunk: list[tuple[int, int, list[str]]] = [blocks[0]]
    for block in [*blocks[1:], None]:
        if block is not None and block[0] - hunk[-1][1] <= 2 * context:
            hunk.append(block)
            continue
        lo = max(0, hunk[0][0] - context)
        hi = min(len(lines), hunk[-1][1] + context)
        grown = sum(len(new) - (b - a) for a, b, new in hunk)
        out.append(
            f"@@ -{_range(lo, hi)} +{_range(lo + shift, hi + shift + grown)} @@\n"
        )
        at = lo
        for a, b, new in hunk:
            put(" ", lines[at:a])
            put("-", lines[a:b])
            put("+", new)
            at = b
        put(" ", lines[at:hi])
        shift += grown
        if block is not None:
            hunk = [block]
    return "".join(out) if plain else "".join(_marked(line) for line in out)


def _block(
    text: str, starts: list[int], first: int, stop: int, edits: list[Edit]
) -> tuple[int, int, list[str]]:
    """Old lines ``[first, stop)`` and what they read after ``edits``."""
    lo, hi = starts[first], starts[stop]
    parts, pos = [], lo
    for edit in edits:
        parts.append(text[pos : edit.start])
        parts.append(edit.new)
        pos = edit.end
    parts.append(text[pos:hi])
    return first, stop, "".join(parts).splitlines(keepends=True)


def _trimmed(
    block: tuple[int, int, list[str]], lines: list[str]
) -> tuple[int, int, list[str]] | None:
    """The block less the lines it leaves as they were at either end (difflib calls them
    equal), or None when it changes nothing."""
    first, stop, new = block
    old = lines[first:stop]
    head = 0
    while head < min(len(old), len(new)) and old[head] == new[head]:
        head += 1
    tail = 0
    while tail < min(len(old), len(new)) - head and old[-1 - tail] == new[-1 - tail]:
        tail += 1
    if head == len(old) == len(new):
        return None
    return first + head, stop - tail, new[head : len(new) - tail]


def _range(start: int, stop: int) -> str:
    """A hunk's line range as ``diff -u`` writes it (1-based; a count of 1 is left out)."""
    length = stop - start
    if length == 1:
        return f"{start + 1}"
    return f"{start + 1 if length else start},{length}"


def _marked(line: str) -> str:
    return line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
