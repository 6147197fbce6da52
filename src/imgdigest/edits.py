"""Text edits by exact span, unified diffs, and atomic file replacement.

Pinning must behave like a code formatter that only touches image scalars, so edits
are never made by re-serializing a parsed document: each one replaces the characters
``text[start:end]`` and everything else is copied through untouched (comments,
quoting, CRLF, trailing whitespace, byte-order mark).

Writing is done in two phases so a run either changes every file it meant to or none:
``write_all`` first writes each new content to a temporary file beside its target
(same directory, hence same filesystem, so the final ``rename`` is atomic), fsyncs it
and copies the target's permission bits; only when every temporary file exists are
they renamed over their targets. A failure or interrupt before that point removes the
temporary files and leaves every target as it was; an interrupted rename phase leaves
each file either wholly old or wholly new, never half written.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import stat
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from imgdigest.errors import DocumentError, UsageError

TEMP_PREFIX = ".imgdigest-"
TEMP_SUFFIX = ".tmp"


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


@dataclass(frozen=True, slots=True)
class Replacement:
    """New content for one file, and the content it must still have to be replaced."""

    path: Path
    data: bytes
    original: bytes | None = None  #: what was read; None to replace whatever is there


def _temp_beside(target: Path, data: bytes, mode: int | None) -> Path:
    prefix = f"{TEMP_PREFIX}{target.name}."
    fd, name = tempfile.mkstemp(prefix=prefix, suffix=TEMP_SUFFIX, dir=target.parent)
    temp = Path(name)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if mode is not None:
            os.chmod(temp, mode)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    return temp


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_all(replacements: Iterable[Replacement]) -> None:
    """Replace every file's content, all or nothing up to the renames (see module doc).

    ``replacements`` is consumed one at a time, so a generator keeps only one new
    content in memory while staging.

    A symlink is written through (its target changes, the link stays); the target's
    permission bits are kept. Raises ``DocumentError`` naming the file when a file no
    longer holds its ``original`` content or cannot be written; no file is changed then.
    """
    staged: list[tuple[Path, Path]] = []
    try:
        for rep in replacements:
            target = Path(os.path.realpath(rep.path))
            try:
                st = os.stat(target)
                mode = stat.S_IMODE(st.st_mode)
            except FileNotFoundError:
                if rep.original is not None:
                    raise DocumentError(f"{rep.path}: removed while being pinned") from None
                mode = 0o666 & ~_umask()
            except OSError as exc:
                raise DocumentError(f"{rep.path}: cannot write: {exc.strerror}") from None
            else:
                if rep.original is not None and _read(target) != rep.original:
                    raise DocumentError(f"{rep.path}: changed while being pinned; left alone")
            try:
                temp = _temp_beside(target, rep.data, mode)
            except OSError as exc:
                raise DocumentError(f"{rep.path}: cannot write: {exc.strerror}") from None
            staged.append((temp, target))
    except BaseException:
        for temp, _ in staged:
            with contextlib.suppress(OSError):
                temp.unlink()
        raise
    directories: set[Path] = set()
    for i, (temp, target) in enumerate(staged):
        try:
            os.replace(temp, target)
        except BaseException:
            for left, _ in staged[i:]:
                with contextlib.suppress(OSError):
                    left.unlink()
            raise
        directories.add(target.parent)
    for directory in directories:
        _fsync_dir(directory)


def write_atomic(path: str | Path, data: bytes, original: bytes | None = None) -> None:
    """Replace (or create) one file atomically: temporary file, fsync, rename; mode kept."""
    write_all([Replacement(Path(path), data, original)])
