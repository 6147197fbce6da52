"""The paths inside a layer, read from its compressed stream in constant memory.

A layer is a tar, usually gzip'd, sometimes zstd'd, sometimes plain; the media type
says which but not always truthfully (``docker save`` archives and some layouts label
plain tars as gzip), so the first bytes decide. Bytes flow chunk by chunk from the
source through the decompressor into a tar header reader that skips contents as it
goes; nothing is kept once yielded, so a layer of a million files costs no more memory
than one of ten.

Whiteouts, the way a layer deletes what a lower layer added, are reported as such:
``.wh.NAME`` deletes ``NAME``; ``.wh..wh..opq`` hides everything below its directory.
"""

from __future__ import annotations

import io
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
                        raise EOFError("gzip stream ends in the middle of a member")
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
        yield from _TarReader(stream, where).members()
    except (zlib.error, zstandard.ZstdError, EOFError) as exc:
        raise UnsupportedError(f"{where}: cannot decompress ({exc})") from None
    raw.drain()


class _TarReader:
    """Headers of a tar stream (ustar, GNU long names, PAX), contents skipped unread.

    ``tarfile`` decodes every field of every header in Python and its stream mode copies
    its buffer for each one; listing needs only name, type, size, mode and link, so
    this reads just those and is several times faster on layers of many small files.
    """

    def __init__(self, stream: IO[bytes], where: str) -> None:
        self.stream = stream
        self.where = where
        self.offset = 0
        self._scratch = memoryview(bytearray(_BUFFER))

    def _read(self, n: int) -> bytes:
        data = self.stream.read(n)
        self.offset += len(data)
        return data

    def _exact(self, n: int, what: str) -> bytes:
        data = self._read(n)
        if len(data) != n:
            raise UnsupportedError(f"{self.where}: tar ends inside {what} at byte {self.offset}")
        return data

    def _skip(self, n: int) -> None:
        while n > 0:
            got = self.stream.readinto(self._scratch[: min(n, _BUFFER)])  # type: ignore[attr-defined]
            if not got:
                raise UnsupportedError(
                    f"{self.where}: tar ends inside a file's contents at byte {self.offset}"
                )
            n -= got
            self.offset += got

    def members(self) -> Iterator[FileEntry]:
        pax_global: dict[str, str] = {}
        pax: dict[str, str] = {}
        long_name: str | None = None
        long_link: str | None = None
        while True:
            start = self.offset
            header = self._read(_BLOCK)
            if not header or header == _ZERO_BLOCK:
                return  # end marker (or a tar without one)
            if len(header) < _BLOCK:
                raise UnsupportedError(f"{self.where}: tar ends inside a header at byte {start}")
            try:
                if _checksum(header) != _number(header[148:156]):
                    raise ValueError("checksum")
                size = _number(header[124:136])
                mode = _number(header[100:108])
            except ValueError:
                raise UnsupportedError(
                    f"{self.where}: corrupt tar header at byte {start}"
                ) from None
            kind = header[156:157]
            padded = (size + _BLOCK - 1) // _BLOCK * _BLOCK
            if kind in (b"x", b"g", b"L", b"K"):
                data = self._exact(padded, "an extended header")[:size]
                if kind == b"x":
                    pax.update(_pax_records(data))
                elif kind == b"g":
                    pax_global.update(_pax_records(data))
                elif kind == b"L":
                    long_name = _text(data.rstrip(b"\0"))
                else:
                    long_link = _text(data.rstrip(b"\0"))
                continue
            name = _text(_field(header[0:100]))
            if header[257:263] == b"ustar\0":
                prefix = _field(header[345:500])
                if prefix:
                    name = f"{_text(prefix)}/{name}"
            link = _text(_field(header[157:257]))
            merged = {**pax_global, **pax} if pax_global else pax
            name = merged.get("path") or long_name or name
            link = merged.get("linkpath") or long_link or link
            if "size" in merged and merged["size"].isdigit():
                size = int(merged["size"])
                padded = (size + _BLOCK - 1) // _BLOCK * _BLOCK
            pax, long_name, long_link = {}, None, None
            kind_name = _KINDS.get(kind, "file")
            if kind_name == "file" or kind not in _KINDS:
                self._skip(padded)
            yield _entry(name, kind_name, size if kind_name == "file" else 0, mode, link)


_BLOCK = 512
_ZERO_BLOCK = bytes(_BLOCK)
_KINDS = {
    b"0": "file",
    b"\0": "file",
    b"7": "file",
    b"1": "hardlink",
    b"2": "symlink",
    b"3": "char",
    b"4": "block",
    b"5": "dir",
    b"6": "fifo",
}


def _field(raw: bytes) -> bytes:
    end = raw.find(b"\0")
    return raw if end < 0 else raw[:end]


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "backslashreplace")


def _number(raw: bytes) -> int:
    """A numeric header field: octal text, or base-256 when the high bit is set (GNU)."""
    if raw and raw[0] & 0x80:
        value = int.from_bytes(raw[1:], "big")
        return -value if raw[0] & 0x40 else value
    text = raw.replace(b"\0", b" ").strip()
    return int(text, 8) if text else 0  # ValueError on anything else


def _checksum(header: bytes) -> int:
    # The checksum field itself counts as eight spaces.
    return sum(header[:148]) + 256 + sum(header[156:])


def _pax_records(data: bytes) -> dict[str, str]:
    """``LENGTH KEY=VALUE\\n`` records of a PAX extended header."""
    out: dict[str, str] = {}
    pos = 0
    while pos < len(data):
        space = data.find(b" ", pos)
        if space < 0 or not data[pos:space].isdigit():
            break
        length = int(data[pos:space])
        if length <= 0:
            break
        record = data[space + 1 : pos + length - 1]
        key, _, value = record.partition(b"=")
        out[_text(key)] = _text(value)
        pos += length
    return out


def _entry(path: str, kind: str, size: int, mode: int, link: str) -> FileEntry:
    while path.startswith(("./", "/")):
        path = path[2:] if path.startswith("./") else path[1:]
    path = path.rstrip("/") if kind == "dir" else path
    parent, _, base = path.rpartition("/")
    if base == OPAQUE:
        return FileEntry(path, "opaque", 0, mode, deletes=parent + "/" if parent else "/")
    if base.startswith(WHITEOUT_PREFIX):
        gone = base[len(WHITEOUT_PREFIX) :]
        gone = f"{parent}/{gone}" if parent else gone
        return FileEntry(path, "whiteout", 0, mode, deletes=gone)
    if kind == "file" and path.endswith("/"):
        kind, path, size = "dir", path.rstrip("/"), 0  # old tars mark directories by name
    return FileEntry(path, kind, size, mode, link if kind in ("symlink", "hardlink") else "")
