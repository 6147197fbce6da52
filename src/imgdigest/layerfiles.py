"""The paths inside a layer, read from its compressed stream in constant memory.

A layer is a tar, usually gzip'd, sometimes zstd'd, sometimes plain; the media type
says which but not always truthfully (``docker save`` archives and some layouts label
plain tars as gzip), so the first bytes decide. Bytes flow chunk by chunk from the
source through the decompressor into ``tarfile``'s stream mode, which reads headers
and skips contents without seeking; members are forgotten as soon as they are
yielded, so a layer of a million files costs no more memory than one of ten.

Whiteouts, the way a layer deletes what a lower layer added, are reported as such:
``.wh.NAME`` deletes ``NAME``; ``.wh..wh..opq`` hides everything below its directory.
"""

from __future__ import annotations

import gzip
import io
import tarfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

import zstandard

from imgdigest.errors import UnsupportedError

WHITEOUT_PREFIX = ".wh."
OPAQUE = ".wh..wh..opq"
_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_BUFFER = 1024 * 1024

_TYPES = {
    tarfile.REGTYPE: "file",
    tarfile.AREGTYPE: "file",
    tarfile.CONTTYPE: "file",
    tarfile.DIRTYPE: "dir",
    tarfile.SYMTYPE: "symlink",
    tarfile.LNKTYPE: "hardlink",
    tarfile.CHRTYPE: "char",
    tarfile.BLKTYPE: "block",
    tarfile.FIFOTYPE: "fifo",
}


@dataclass(frozen=True)
class FileEntry:
    """One member of a layer tar."""

    path: str  # as stored, without a leading "./" or "/"
    type: str  # file | dir | symlink | hardlink | char | block | fifo | whiteout | opaque
    size: int
    mode: int
    link: str = ""  # symlink or hardlink target
    deletes: str = ""  # for whiteouts: the path deleted (or the directory made opaque)

    @property
    def listed(self) -> str:
        """The path as ``tar --list`` prints it (directories end in ``/``)."""
        return self.path + "/" if self.type == "dir" else self.path

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "path": self.path,
            "type": self.type,
            "size": self.size,
            "mode": f"{self.mode:04o}",
        }
        if self.link:
            out["link"] = self.link
        if self.deletes:
            out["deletes"] = self.deletes
        return out


class ChunkReader(io.RawIOBase):
    """A readable file over an iterator of byte chunks."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._buffer = b""
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        while not self._buffer and not self._done:
            try:
                self._buffer = next(self._chunks)
            except StopIteration:
                self._done = True
        n = min(len(b), len(self._buffer))
        b[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n

    def drain(self) -> None:
        """Consume what is left, so the source can finish verifying it."""
        for _ in self._chunks:
            pass


class _GzipStream(io.RawIOBase):
    """Gzip decompression (several members in a row allowed), bounded output per read."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self._d = zlib.decompressobj(31)
        self._fresh = True  # nothing fed to the current member yet
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        while True:
            if not self._pending:
                self._pending = self._raw.read(_BUFFER)
                if not self._pending:
                    if not self._fresh:
                        raise UnsupportedError("gzip stream ends in the middle of a member")
                    return 0
                if self._fresh:
                    # Padding after the last member (some tools add zeros) is not a member.
                    self._pending = self._pending.lstrip(b"\x00")
                    if not self._pending:
                        continue
            self._fresh = False
            data = self._d.decompress(self._pending, len(b))
            self._pending = self._d.unconsumed_tail
            if self._d.eof:
                self._pending = self._d.unused_data + self._pending
                self._d = zlib.decompressobj(31)
                self._fresh = True
            if data:
                b[: len(data)] = data
                return len(data)


def open_decompressed(chunks: Iterable[bytes]) -> tuple[ChunkReader, IO[bytes]]:
    """The raw reader (to drain later) and a decompressed view chosen by magic bytes."""
    raw = ChunkReader(chunks)
    buffered = io.BufferedReader(raw, _BUFFER)
    head = buffered.peek(4)[:4]
    if head.startswith(_GZIP_MAGIC):
        return raw, io.BufferedReader(_GzipStream(buffered), _BUFFER)
    if head.startswith(_ZSTD_MAGIC):
        reader = zstandard.ZstdDecompressor().stream_reader(
            buffered, read_size=_BUFFER, read_across_frames=True
        )
        return raw, io.BufferedReader(reader, _BUFFER)  # type: ignore[arg-type]
    return raw, buffered


def entries(chunks: Iterable[bytes], where: str) -> Iterator[FileEntry]:
    """The members of the layer whose (compressed) bytes are ``chunks``, in order.

    The chunks are read to the end even after the tar's end marker, so a verifying
    source gets to check the digest.
    """
    raw, stream = open_decompressed(chunks)
    try:
        tar = tarfile.open(fileobj=stream, mode="r|", bufsize=_BUFFER)  # noqa: SIM115
    except tarfile.ReadError as exc:
        raw.drain()
        if "empty file" in str(exc):
            return
        raise UnsupportedError(f"{where}: not a tar archive ({exc})") from None
    except (zlib.error, zstandard.ZstdError, gzip.BadGzipFile, EOFError) as exc:
        raise UnsupportedError(f"{where}: cannot decompress ({exc})") from None
    try:
        while True:
            try:
                member = tar.next()
            except tarfile.ReadError as exc:
                raise UnsupportedError(f"{where}: corrupt tar ({exc})") from None
            except (zlib.error, zstandard.ZstdError, EOFError, UnsupportedError) as exc:
                raise UnsupportedError(f"{where}: cannot decompress ({exc})") from None
            if member is None:
                break
            tar.members.clear()  # stream mode keeps every member otherwise
            yield _entry(member)
    finally:
        tar.close()
    raw.drain()


def _entry(m: tarfile.TarInfo) -> FileEntry:
    path = m.name
    while path.startswith(("./", "/")):
        path = path[2:] if path.startswith("./") else path[1:]
    parent, _, base = path.rpartition("/")
    if base == OPAQUE:
        return FileEntry(path, "opaque", 0, m.mode, deletes=parent + "/" if parent else "/")
    if base.startswith(WHITEOUT_PREFIX):
        gone = base[len(WHITEOUT_PREFIX) :]
        gone = f"{parent}/{gone}" if parent else gone
        return FileEntry(path, "whiteout", 0, m.mode, deletes=gone)
    kind = _TYPES.get(m.type, "file")
    link = m.linkname if kind in ("symlink", "hardlink") else ""
    return FileEntry(path, kind, m.size if kind == "file" else 0, m.mode, link)
