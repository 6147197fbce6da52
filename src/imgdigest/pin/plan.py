"""The pin plan: what a run will change and what stands in its way, before anything is written.

Planning and writing are apart so a caller can show the diff, refuse on any failure, or
write only the files that are whole (``partial``); the plan keeps the verified edits,
not the new texts, and makes each file's new text only when it is shown or written.

A plan of files read from disk lets go of each file's text once it is planned
(``FilePlan.release``) and keeps a hash of the bytes read: the diff and the write read
the file again and refuse it if it changed in between, so a run holds one file's text at
a time however large the tree.
"""

from __future__ import annotations

import hashlib
import json
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from imgdigest.display import safe
from imgdigest.documents import STDIN, FileScan, ImageSite, Note
from imgdigest.edits import Edit, apply_edits, edits_diff
from imgdigest.errors import DocumentError, ImgdigestError
from imgdigest.files import Replacement, replace_files
from imgdigest.reference import Reference

if TYPE_CHECKING:  # imgdigest.lock builds locks from pin's model: a runtime import would cycle
    from imgdigest.lock import Lock

Mode = Literal["pin", "update"]
#: ``on_progress(done, total)`` while references are resolved.
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class PinOptions:
    """What a pin run does."""

    keep_tag: bool = True  #: write ``name:tag@digest`` (False: ``name@digest``)
    update: bool = False  #: re-resolve existing pins whose tag may have moved
    platform: str | None = None  #: pin this platform's manifest instead of the index
    lock: Lock | None = None  #: answers to use before asking any registry
    offline: bool = False  #: never ask a registry; a reference missing from ``lock`` fails
    verify: bool = True  #: re-scan edited text and refuse a file whose sites changed shape


DEFAULT_PIN = PinOptions()


@dataclass(frozen=True, slots=True)
class Change:
    """One span rewritten."""

    file: str
    line: int
    column: int
    old: str
    new: str
    reference: str  #: the normalized reference that was resolved
    digest: str
    mode: Mode
    start: int
    end: int

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "old": self.old,
            "new": self.new,
            "reference": self.reference,
            "digest": self.digest,
            "mode": self.mode,
        }


@dataclass(frozen=True)
class Failure:
    """A reference that could not be pinned: ``file:line: reference: reason``."""

    file: str
    line: int | None
    reference: str
    reason: str
    exit_code: int = 1

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.reference}: {self.reason}"

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "reference": self.reference,
            "reason": self.reason,
            "exit_code": self.exit_code,
        }


class ChangeKinds:
    """What changes say beyond where they are - (old, new, reference, digest, mode) -
    stored once per run: a tree names a few hundred images many thousand times."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str, Mode]] = []
        self._index: dict[tuple[str, str, str, str, Mode], int] = {}

    def index(self, change: Change) -> int:
        row = (change.old, change.new, change.reference, change.digest, change.mode)
        found = self._index.get(row)
        if found is None:
            found = self._index[row] = len(self.rows)
            self.rows.append(row)
        return found


class PackedChanges:
    """One file's changes as five integers each (offsets, line, column, kind)."""

    __slots__ = ("_kinds", "_numbers")

    def __init__(self, changes: list[Change], kinds: ChangeKinds) -> None:
        self._kinds = kinds
        self._numbers = array("q")
        for c in changes:
            self._numbers.extend((c.start, c.end, c.line, c.column, kinds.index(c)))

    def __len__(self) -> int:
        return len(self._numbers) // 5

    def _rows(self) -> Iterator[tuple[int, int, int, int, tuple[str, str, str, str, Mode]]]:
        n, rows = self._numbers, self._kinds.rows
        for i in range(0, len(n), 5):
            yield n[i], n[i + 1], n[i + 2], n[i + 3], rows[n[i + 4]]

    def changes(self, file: str) -> list[Change]:
        return [
            Change(file, line, column, old, new, reference, digest, mode, start, end)
            for start, end, line, column, (old, new, reference, digest, mode) in self._rows()
        ]

    def edits(self) -> list[Edit]:
        return [Edit(start, end, kind[1]) for start, end, _, _, kind in self._rows()]


class FilePlan:
    """The edits planned for one file, and what stands in their way.

    ``changes`` and ``edits`` are lists, or - in a plan of a whole tree, once ``pack``
    ran - made on demand from a compact record (``PackedChanges``), so a large run
    holds a few numbers per edit rather than two objects and their strings.
    """

    def __init__(
        self,
        scan: FileScan,
        changes: list[Change] | None = None,
        failures: list[Failure] | None = None,
        notes: list[Note] | None = None,
        edits: list[Edit] | None = None,
    ) -> None:
        self.scan = scan
        self._changes: list[Change] = changes if changes is not None else []
        self.failures: list[Failure] = failures if failures is not None else []
        self.notes: list[Note] = notes if notes is not None else []
        #: the verified edits; the new text is made from them on demand, so a run over
        #: a large tree holds each file's text once, not twice
        self._edits: list[Edit] = edits if edits is not None else []
        self._packed: PackedChanges | None = None
        #: SHA-256 of the bytes the edits were planned on, once ``release`` let the text go
        self.read_digest: bytes | None = None

    def __repr__(self) -> str:
        return f"FilePlan({self.file!r}, {self.change_count} changes, {len(self.failures)} failed)"

    @property
    def changes(self) -> list[Change]:
        if self._packed is not None:
            return self._packed.changes(self.file)
        return self._changes

    @changes.setter
    def changes(self, value: list[Change]) -> None:
        self._packed = None
        self._changes = value

    @property
    def edits(self) -> list[Edit]:
        if self._packed is not None:
            return self._packed.edits()
        return self._edits

    @edits.setter
    def edits(self, value: list[Edit]) -> None:
        self._packed = None
        self._edits = value

    @property
    def change_count(self) -> int:
        return len(self._packed) if self._packed is not None else len(self._changes)

    @property
    def file(self) -> str:
        return self.scan.file

    @property
    def changed(self) -> bool:
        return (self._packed is not None and len(self._packed) > 0) or bool(self._edits)

    def pack(self, kinds: ChangeKinds) -> None:
        """Keep the changes as numbers and an index into ``kinds`` (shared by a run).

        Only a plan whose edits are exactly its changes' spans (as ``plan_paths`` makes
        them: aliases of one span share one edit) can be packed; others stay as they are.
        """
        if self._packed is not None or not self._changes:
            return
        if {(e.start, e.end, e.new) for e in self._edits} != {
            (c.start, c.end, c.new) for c in self._changes
        }:
            return
        self._packed = PackedChanges(self._changes, kinds)
        self._changes = []
        self._edits = []

    def release(self) -> None:
        """Let go of the text and sites of a file read from disk; keep what proves it unchanged.

        The diff and the write then read the file again (``text_and_bytes``).
        """
        scan = self.scan
        if scan.text is None or scan.path is None or scan.file == STDIN:
            return
        self.read_digest = hashlib.sha256(scan.text.encode(scan.encoding)).digest()
        scan.text = None
        scan.sites = []

    def text_and_bytes(self) -> tuple[str, bytes] | None:
        """The text the edits apply to and its bytes (read again if released); None if none.

        Raises ``DocumentError`` naming the file when it changed since it was planned.
        """
        scan = self.scan
        if scan.text is not None:
            return scan.text, scan.text.encode(scan.encoding)
        if self.read_digest is None or scan.path is None:
            return None
        try:
            data = scan.path.read_bytes()
        except OSError as exc:
            raise DocumentError(
                f"{scan.file}: cannot read it back: {exc.strerror or exc}", file=scan.file
            ) from None
        if hashlib.sha256(data).digest() != self.read_digest:
            raise DocumentError(
                f"{scan.file}: changed while being pinned; left alone", file=scan.file
            )
        return data.decode(scan.encoding), data

    def _text(self) -> str | None:
        if self.scan.text is not None or self.read_digest is None:
            return self.scan.text
        read = self.text_and_bytes()
        return read[0] if read is not None else None

    @property
    def new_text(self) -> str | None:
        """The file's text with the edits made (its text as read when there are none)."""
        text = self._text()
        if text is None or not self.edits:
            return text
        return apply_edits(text, self.edits)

    def diff(self) -> str:
        if not self.changed:
            return ""
        text = self._text()
        if text is None:
            return ""
        return edits_diff(text, self.edits, safe(self.file))  # names never drive a tty


@dataclass
class PinPlan:
    """Every file's plan; nothing has been written yet."""

    files: list[FilePlan]
    #: unique references answered, and how (lock, registry)
    resolved: int = 0
    from_lock: int = 0

    @property
    def failures(self) -> list[Failure]:
        return [f for fp in self.files for f in fp.failures]

    @property
    def errors(self) -> list[ImgdigestError]:
        return [e for fp in self.files for e in fp.scan.errors]

    @property
    def notes(self) -> list[Note]:
        return [n for fp in self.files for n in (*fp.scan.notes, *fp.notes)]

    @property
    def changes(self) -> list[Change]:
        return [c for fp in self.files for c in fp.changes]

    @property
    def change_count(self) -> int:
        return sum(fp.change_count for fp in self.files)

    @property
    def changed_files(self) -> list[FilePlan]:
        return [fp for fp in self.files if fp.changed]

    @property
    def exit_code(self) -> int:
        """0, or the code of the first failure (resolution) or file error."""
        for fp in self.files:
            for failure in fp.failures:
                return failure.exit_code
            for error in fp.scan.errors:
                return error.exit_code
        return 0

    def writable(self, partial: bool = False) -> list[FilePlan]:
        """The files ``write`` would write: none when anything failed, unless ``partial``.

        Files with an error of their own (invalid YAML, a refused edit) are never written.
        """
        if self.failures and not partial:
            return []
        return [
            fp
            for fp in self.changed_files
            if fp.file != STDIN
            and fp.scan.path is not None
            and not fp.failures
            and not fp.scan.errors
        ]

    def replacements(self, partial: bool = False) -> Iterator[Replacement]:
        """The new contents, made one file at a time as the writer asks for them."""
        for fp in self.writable(partial):
            read = fp.text_and_bytes()
            assert read is not None and fp.scan.path is not None
            text, old = read
            new = apply_edits(text, fp.edits)
            del text
            codec = fp.scan.encoding  # a UTF-16 file is written back in UTF-16, BOM and all
            yield Replacement(fp.scan.path, new.encode(codec), old)

    def write(self, partial: bool = False) -> list[str]:
        """Write every changed file atomically (all renamed only once all are staged)."""
        files = [fp.file for fp in self.writable(partial)]
        replace_files(self.replacements(partial))
        return files

    def summary(self) -> dict[str, int]:
        return {
            "files": len(self.files),
            "files_changed": len(self.changed_files),
            "references_changed": self.change_count,
            "unique_references": self.resolved,
            "from_lock": self.from_lock,
            "failures": len(self.failures),
            "errors": len(self.errors),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "changes": [c.to_json() for c in self.changes],
            "failures": [f.to_json() for f in self.failures],
            "errors": [str(e) for e in self.errors],
            "notes": [str(n) for n in self.notes],
            "summary": self.summary(),
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2)


@dataclass(frozen=True, slots=True)
class Target:
    """What one site asks for and where its answer goes."""

    site: ImageSite
    mode: Mode
    tagged: Reference  #: normalized ``name:tag`` to resolve (no digest)
    current: str | None  #: the digest already pinned (update mode)
    start: int
    end: int
    raw: str  #: ``text[start:end]``
    line: int | None = None  #: where the edited value is, when not at the site itself
    column: int | None = None

    @property
    def key(self) -> tuple[str, str, str | None]:
        return (self.mode, str(self.tagged), self.current)
