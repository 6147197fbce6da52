"""Text edits by exact span, unified diffs, and atomic file replacement.

Pinning must behave like a code formatter that only touches image scalars, so edits
are never made by re-serializing a parsed document: each one replaces the characters
``text[start:end]`` and everything else is copied through untouched (comments,
quoting, CRLF, trailing whitespace, byte-order mark).

Writing is done in two phases so a run either changes every file it meant to or none:
``write_all`` first writes each new content to a temporary file beside its target
(same directory, hence same filesystem, so the final ``rename`` is atomic), fsyncs it
and gives it the target's owner, group and permission bits; only when every temporary
file exists are they renamed over their targets. A failure or interrupt in either phase
removes the temporary files and puts back every file already replaced, so each target
holds what it held before. A file with more than one hard link is overwritten in place
instead (after the same checks), since a rename would split it from its other names;
only that case can be left half written, by SIGKILL or a crash. Temporary files carry
the writer's pid, and the next write into the directory removes those left by a dead one.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import re
import stat
import tempfile
import time
from collections.abc import Callable, Iterable
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


# A temporary file is ``.imgdigest-NAME.PID.RANDOM.tmp``: the writer's pid lets a later run
# tell a file left by a killed writer (pid gone) from one being written right now.
_TEMP_NAME = re.compile(
    re.escape(TEMP_PREFIX) + r"(?P<name>.+?)\.(?:(?P<pid>\d+)\.)?[^.]+" + re.escape(TEMP_SUFFIX)
)
#: A temporary file older than this is stale even if a process with its pid exists
#: (pids are reused, and a writer on another host of a shared filesystem is not visible).
STALE_AFTER = 15 * 60.0


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def remove_stale_temps(directory: Path, now: float | None = None) -> list[Path]:
    """Remove temporary files of our naming that no writer will finish; return them.

    Stale means: its writer's pid is dead, or it is older than ``STALE_AFTER`` (also the
    only rule for names without a pid, written before pids were embedded).
    """
    now = time.time() if now is None else now
    removed: list[Path] = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for entry in entries:
        match = _TEMP_NAME.fullmatch(entry.name)
        if match is None or not entry.is_file(follow_symlinks=False):
            continue
        try:
            age = now - entry.stat(follow_symlinks=False).st_mtime
        except OSError:
            continue
        pid = match.group("pid")
        if age > STALE_AFTER or (pid is not None and not _pid_alive(int(pid))):
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed


def _temp_beside(target: Path, data: bytes, like: os.stat_result | None, mode: int) -> Path:
    """``data`` in a new temporary file beside ``target``, fsynced, with its owner and mode."""
    prefix = f"{TEMP_PREFIX}{target.name}.{os.getpid()}."
    fd, name = tempfile.mkstemp(prefix=prefix, suffix=TEMP_SUFFIX, dir=target.parent)
    temp = Path(name)
    try:
        with os.fdopen(fd, "wb") as f:
            if like is not None:
                _same_owner(f.fileno(), like)
            os.fchmod(f.fileno(), mode)  # after chown, which may clear set-id bits
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    return temp


def _same_owner(fd: int, like: os.stat_result) -> None:
    """Give the file ``like``'s owner and group, or as much of it as we may."""
    st = os.fstat(fd)
    if (st.st_uid, st.st_gid) == (like.st_uid, like.st_gid):
        return
    try:
        os.fchown(fd, like.st_uid, like.st_gid)
    except PermissionError:  # not root: keep at least the group, if we belong to it
        with contextlib.suppress(OSError):
            os.fchown(fd, -1, like.st_gid)


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


def _write_in_place(target: Path, data: bytes, opened: Callable[[], None] | None = None) -> None:
    """Overwrite ``target``'s bytes, keeping its inode (hard links, owner, mode, ACLs).

    ``opened`` is called once the file is open, before its first byte changes.
    """
    with open(target, "r+b") as f:
        if opened is not None:
            opened()
        f.write(data)
        f.truncate()
        f.flush()
        os.fsync(f.fileno())


@dataclass(slots=True)
class _Staged:
    """One file ready to change: a temporary file to rename, or (hard-linked) in place."""

    rep: Replacement
    target: Path
    before: bytes | None  #: the content to restore on rollback; None = did not exist
    like: os.stat_result | None
    temp: Path | None  #: None: written in place
    done: bool = False


def _stage(rep: Replacement) -> _Staged:
    target = Path(os.path.realpath(rep.path))
    try:
        st = os.stat(target)
    except FileNotFoundError:
        if rep.original is not None:
            raise DocumentError(f"{rep.path}: removed while being pinned") from None
        return _Staged(rep, target, None, None, _temp_beside(target, rep.data, None, _new_mode()))
    except OSError as exc:
        raise DocumentError(f"{rep.path}: cannot write: {exc.strerror}") from None
    before = _read(target)
    if before is None:
        raise DocumentError(f"{rep.path}: cannot read it back before writing")
    if rep.original is not None and before != rep.original:
        raise DocumentError(f"{rep.path}: changed while being pinned; left alone")
    if st.st_nlink > 1:
        if not os.access(target, os.W_OK):
            raise DocumentError(f"{rep.path}: cannot write: Permission denied")
        return _Staged(rep, target, before, st, None)
    return _Staged(
        rep, target, before, st, _temp_beside(target, rep.data, st, stat.S_IMODE(st.st_mode))
    )


def _new_mode() -> int:
    return 0o666 & ~_umask()


def _commit(item: _Staged) -> None:
    if item.temp is None:

        def started() -> None:
            item.done = True  # from here a failure half-way must be undone

        _write_in_place(item.target, item.rep.data, started)
    else:
        os.replace(item.temp, item.target)
        item.temp = None
        item.done = True


def _undo(item: _Staged) -> None:
    """Put back what ``item`` replaced; raises OSError if that is impossible."""
    if item.before is None:
        item.target.unlink(missing_ok=True)
    elif item.like is not None and item.like.st_nlink > 1:
        _write_in_place(item.target, item.before)
    else:
        mode = stat.S_IMODE(item.like.st_mode) if item.like is not None else _new_mode()
        temp = _temp_beside(item.target, item.before, item.like, mode)
        try:
            os.replace(temp, item.target)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise


def _discard(staged: Iterable[_Staged]) -> None:
    for item in staged:
        if item.temp is not None:
            with contextlib.suppress(OSError):
                item.temp.unlink()
            item.temp = None


def write_all(replacements: Iterable[Replacement]) -> None:
    """Replace every file's content, all or nothing (see module doc).

    ``replacements`` is consumed one at a time, so a generator keeps only one new
    content in memory while staging. Stale temporary files of our naming in the target
    directories (left by a killed run) are removed first.

    A symlink is written through (its target changes, the link stays). Owner, group and
    permission bits are kept; a file with several hard links is overwritten in place, so
    every link sees the new content. Raises ``DocumentError`` naming the file when a file
    no longer holds its ``original`` content or cannot be written; every file then holds
    what it held before (the message says so, or names any file that could not be
    restored).
    """
    staged: list[_Staged] = []
    swept: set[Path] = set()
    try:
        for rep in replacements:
            directory = Path(os.path.realpath(rep.path)).parent
            if directory not in swept:
                swept.add(directory)
                remove_stale_temps(directory)
            try:
                staged.append(_stage(rep))
            except OSError as exc:
                raise DocumentError(f"{rep.path}: cannot write: {exc.strerror}") from None
    except BaseException:
        _discard(staged)
        raise
    current: _Staged | None = None
    try:
        for current in staged:
            _commit(current)
    except BaseException as exc:
        _discard(staged)
        failed = _rollback(staged)
        if not isinstance(exc, OSError):
            raise
        assert current is not None
        message = f"{current.rep.path}: cannot write: {exc.strerror or exc}; "
        if failed:
            message += "could not restore " + ", ".join(str(i.rep.path) for i in failed)
        else:
            message += "no file was changed"
        raise DocumentError(message) from None
    for directory in {item.target.parent for item in staged}:
        _fsync_dir(directory)


def _rollback(staged: list[_Staged]) -> list[_Staged]:
    """Undo every committed change, newest first; return those that could not be undone."""
    failed: list[_Staged] = []
    for item in reversed(staged):
        if not item.done:
            continue
        try:
            _undo(item)
        except OSError:
            failed.append(item)
    return failed


def write_atomic(path: str | Path, data: bytes, original: bytes | None = None) -> None:
    """Replace (or create) one file atomically: temporary file, fsync, rename; mode kept."""
    write_all([Replacement(Path(path), data, original)])
