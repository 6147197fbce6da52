"""Replacing files so that readers see the old bytes or the new ones, never a mix.

Every file the library writes goes through one writer: pinned manifests and lock files,
and its own state (caches, credentials, OCI layouts, upload sessions). Each new content
goes to a temporary file beside its target (same directory, hence same filesystem, so
the final ``rename`` is atomic), given the target's owner, group and permission bits (or
the ``mode`` asked for), and is renamed over the target. ``durable`` adds the fsyncs
(file and directory) that user files and credentials want and caches can skip.

``replace_files`` changes several files all or nothing: every temporary file is written
first, and only when all exist are they renamed over their targets. A failure or
interrupt in either phase removes the temporary files and puts back every file already
replaced. A file with more than one hard link is overwritten in place instead (after
the same checks), since a rename would split it from its other names; only that case
can be left half written, by SIGKILL or a crash. ``replace_file`` is the one-file form
for the library's own state, whose callers handle ``OSError`` themselves.

Temporary files carry the writer's pid; the first write into a directory in a process
removes those left there by a dead writer (``remove_stale_temps``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import os
import re
import stat
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from imgdigest.errors import DocumentError

TEMP_PREFIX = ".imgdigest-"
TEMP_SUFFIX = ".tmp"
#: Permission bits of files only their owner may read (credentials, caches).
PRIVATE = 0o600


@dataclass(frozen=True, slots=True)
class Replacement:
    """New content for one file, and the content it must still have to be replaced."""

    path: Path
    data: bytes
    original: bytes | None = None  #: what was read; None to replace whatever is there
    mode: int | None = None  #: permission bits; None keeps the file's (umask for a new one)


# A temporary file is ``.imgdigest-NAME.PID.RANDOM.tmp``: the writer's pid lets a later run
# tell a file left by a killed writer (pid gone) from one being written right now.
_TEMP_NAME = re.compile(
    re.escape(TEMP_PREFIX) + r"(?P<name>.+?)\.(?:(?P<pid>\d+)\.)?[^.]+" + re.escape(TEMP_SUFFIX)
)
#: A temporary file older than this is stale even if a process with its pid exists
#: (pids are reused, and a writer on another host of a shared filesystem is not visible).
STALE_AFTER = 15 * 60.0

# Directories already swept by this process: a cache writes thousands of files into one
# directory, and listing it before each would cost more than the writes.
_swept: set[Path] = set()
_swept_lock = threading.Lock()


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
        if not entry.name.startswith(TEMP_PREFIX):
            continue
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


def _sweep_once(directory: Path) -> None:
    with _swept_lock:
        if directory in _swept:
            return
        _swept.add(directory)
    remove_stale_temps(directory)


def _temp_beside(
    target: Path, data: bytes, like: os.stat_result | None, mode: int, durable: bool
) -> Path:
    """``data`` in a new temporary file beside ``target``, with ``like``'s owner and ``mode``."""
    prefix = f"{TEMP_PREFIX}{target.name}.{os.getpid()}."
    fd, name = tempfile.mkstemp(prefix=prefix, suffix=TEMP_SUFFIX, dir=target.parent)
    temp = Path(name)
    try:
        with os.fdopen(fd, "wb") as f:
            if like is not None:
                _same_owner(f.fileno(), like)
            os.fchmod(f.fileno(), mode)  # after chown, which may clear set-id bits
            f.write(data)
            if durable:
                f.flush()
                os.fsync(f.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    return temp


def _link_beside(target: Path) -> Path | None:
    """A hard link to ``target`` under a temporary name beside it, or None where the
    filesystem refuses links (the caller then keeps the old content in memory)."""
    prefix = f"{TEMP_PREFIX}{target.name}.{os.getpid()}."
    for _ in range(100):
        name = target.parent / f"{prefix}{os.urandom(4).hex()}{TEMP_SUFFIX}"
        try:
            os.link(target, name, follow_symlinks=False)
        except FileExistsError:
            continue
        except OSError:
            return None
        return name
    return None


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


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def _new_mode() -> int:
    return 0o666 & ~_umask()


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


def _write_in_place(
    target: Path, data: bytes, durable: bool, opened: Callable[[], None] | None = None
) -> None:
    """Overwrite ``target``'s bytes, keeping its inode (hard links, owner, mode, ACLs).

    ``opened`` is called once the file is open, before its first byte changes.
    """
    with open(target, "r+b") as f:
        if opened is not None:
            opened()
        f.write(data)
        f.truncate()
        if durable:
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
    durable: bool
    done: bool = False
    #: a second name for the old content, renamed back on rollback; while it exists,
    #: ``before`` is not kept in memory (None with a backup does not mean "no file")
    backup: Path | None = None


def _stage(rep: Replacement, durable: bool) -> _Staged:
    """Check ``rep`` can be made and write its temporary file.

    Raises ``DocumentError`` when the file no longer holds ``rep.original``, ``OSError``
    when it cannot be read back or written.
    """
    target = Path(os.path.realpath(rep.path))
    try:
        st = os.stat(target)
    except FileNotFoundError:
        if rep.original is not None:
            raise DocumentError(f"{rep.path}: removed while being pinned") from None
        mode = _new_mode() if rep.mode is None else rep.mode
        temp = _temp_beside(target, rep.data, None, mode, durable)
        return _Staged(dataclasses.replace(rep, data=b""), target, None, None, temp, durable)
    try:
        before = target.read_bytes()
    except OSError:
        if rep.original is not None:
            raise DocumentError(f"{rep.path}: cannot read it back before writing") from None
        raise
    if rep.original is not None:
        if before != rep.original:
            raise DocumentError(f"{rep.path}: changed while being pinned; left alone")
        before = rep.original  # one copy of the old content, not two
    if st.st_nlink > 1 and rep.mode is None:
        if not os.access(target, os.W_OK):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(rep.path))
        return _Staged(dataclasses.replace(rep, original=None), target, before, st, None, durable)
    mode = stat.S_IMODE(st.st_mode) if rep.mode is None else rep.mode
    temp = _temp_beside(target, rep.data, st, mode, durable)
    # The new content is in the temporary file now, and a backup link keeps the old one:
    # a staged run over a large tree holds neither in memory.
    kept = dataclasses.replace(rep, data=b"", original=None)
    try:
        backup = _link_beside(target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    if backup is not None:
        return _Staged(kept, target, None, st, temp, durable, backup=backup)
    return _Staged(kept, target, before, st, temp, durable)


def _commit(item: _Staged) -> None:
    if item.temp is None:

        def started() -> None:
            item.done = True  # from here a failure half-way must be undone

        _write_in_place(item.target, item.rep.data, item.durable, started)
    else:
        os.replace(item.temp, item.target)
        item.temp = None
        item.done = True


def _undo(item: _Staged) -> None:
    """Put back what ``item`` replaced; raises OSError if that is impossible."""
    if item.backup is not None:
        os.replace(item.backup, item.target)
        item.backup = None
    elif item.before is None:
        item.target.unlink(missing_ok=True)
    elif item.like is not None and item.like.st_nlink > 1 and item.rep.mode is None:
        _write_in_place(item.target, item.before, item.durable)
    else:
        mode = stat.S_IMODE(item.like.st_mode) if item.like is not None else _new_mode()
        temp = _temp_beside(item.target, item.before, item.like, mode, item.durable)
        try:
            os.replace(temp, item.target)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise


def _discard(staged: Iterable[_Staged]) -> None:
    """Remove what staging left beside the targets: unused temporary files and backups."""
    for item in staged:
        for leftover in (item.temp, item.backup):
            if leftover is not None:
                with contextlib.suppress(OSError):
                    leftover.unlink()
        item.temp = item.backup = None


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


class _Failed(Exception):
    """Writing ``path`` failed with ``error``; ``unrestored`` could not be put back."""

    def __init__(self, path: Path, error: OSError, unrestored: list[_Staged] | None = None) -> None:
        super().__init__(str(error))
        self.path = path
        self.error = error
        self.unrestored = unrestored or []


def _stage_all(replacements: Iterable[Replacement], durable: bool) -> list[_Staged]:
    """Stage every replacement; on any failure remove the temporary files and raise."""
    staged: list[_Staged] = []
    try:
        for rep in replacements:
            _sweep_once(Path(os.path.realpath(rep.path)).parent)
            try:
                staged.append(_stage(rep, durable))
            except OSError as exc:
                raise _Failed(rep.path, exc) from exc
    except BaseException:
        _discard(staged)
        raise
    return staged


def _commit_all(staged: list[_Staged]) -> None:
    """Rename (or write) every staged file; on failure undo them all, then raise."""
    current: _Staged | None = None
    try:
        for current in staged:
            _commit(current)
    except BaseException as exc:
        unrestored = _rollback(staged)  # before the backups it renames back are discarded
        _discard(staged)
        if not isinstance(exc, OSError):
            raise
        assert current is not None
        raise _Failed(current.rep.path, exc, unrestored) from exc
    if staged and staged[0].durable:
        for directory in {item.target.parent for item in staged}:
            _fsync_dir(directory)
    _discard(staged)


def replace_files(replacements: Iterable[Replacement], *, durable: bool = True) -> None:
    """Replace every file's content, all or nothing (see module doc).

    ``replacements`` is consumed one at a time, so a generator keeps only one new
    content in memory while staging.

    A symlink is written through (its target changes, the link stays). Owner, group and
    permission bits are kept unless a ``mode`` is given; a file with several hard links
    is overwritten in place, so every link sees the new content. Raises
    ``DocumentError`` naming the file when a file no longer holds its ``original``
    content or cannot be written; every file then holds what it held before (the
    message says so, or names any file that could not be restored).
    """
    try:
        staged = _stage_all(replacements, durable)
    except _Failed as failure:
        raise DocumentError(f"{failure.path}: cannot write: {failure.error.strerror}") from None
    try:
        _commit_all(staged)
    except _Failed as failure:
        message = f"{failure.path}: cannot write: {failure.error.strerror or failure.error}; "
        if failure.unrestored:
            message += "could not restore " + ", ".join(str(i.rep.path) for i in failure.unrestored)
        else:
            message += "no file was changed"
        raise DocumentError(message) from None


def replace_file(
    path: str | Path,
    data: bytes,
    *,
    mode: int | None = None,
    durable: bool = False,
) -> None:
    """Replace (or create) one file atomically; the directory must exist.

    The one-file form of ``replace_files``, for the library's own state: ``OSError``
    propagates as it is, for callers that skip a cache they cannot write.
    """
    try:
        _commit_all(_stage_all([Replacement(Path(path), data, None, mode)], durable))
    except _Failed as failure:
        raise failure.error from None
