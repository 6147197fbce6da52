"""Listing layer tars from their compressed stream: formats, compressions, whiteouts, damage."""

from __future__ import annotations

import gzip
import io
import tarfile

import pytest
import zstandard

from imgdigest.errors import UnsupportedError
from imgdigest.layerfiles import entries

LONG = "deep/" * 30 + "name-longer-than-one-hundred-characters.txt"
NON_ASCII = "usr/share/zoneinfo/Amérique/Montréal"


def build(fmt: int, members: list[tuple[str, str, bytes | str]]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=fmt) as tar:
        for name, kind, payload in members:
            info = tarfile.TarInfo(name)
            info.mode = 0o640
            if kind == "dir":
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, str(payload)
                tar.addfile(info)
            elif kind == "hardlink":
                info.type, info.linkname = tarfile.LNKTYPE, str(payload)
                tar.addfile(info)
            else:
                data = payload if isinstance(payload, bytes) else payload.encode()
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return raw.getvalue()


MEMBERS = [
    ("etc", "dir", b""),
    ("etc/os-release", "file", b"ID=test\n" * 100),
    ("etc/localtime", "symlink", "/usr/share/zoneinfo/UTC"),
    ("etc/hard", "hardlink", "etc/os-release"),
    (LONG, "file", b"x" * 1000),
    ("etc/.wh.old.conf", "file", b""),
    ("var/cache/.wh..wh..opq", "file", b""),
]


def chunked(data: bytes, size: int = 333) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def oracle(tar_bytes: bytes) -> list[tuple[str, str, int]]:
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as t:
        return [
            (m.name, "dir" if m.isdir() else "symlink" if m.issym() else
             "hardlink" if m.islnk() else "file", m.size if m.isfile() else 0)
            for m in t.getmembers()
        ]  # fmt: skip


@pytest.mark.parametrize(
    "fmt",
    [tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT],
    ids=["ustar", "gnu", "pax"],
)
@pytest.mark.parametrize(
    "compress",
    [lambda b: b, gzip.compress, lambda b: zstandard.ZstdCompressor().compress(b)],
    ids=["plain", "gzip", "zstd"],
)
def test_listing_matches_tarfile_in_every_format_and_compression(fmt, compress):
    members = [m for m in MEMBERS if fmt != tarfile.USTAR_FORMAT or m[0] != LONG]
    data = build(fmt, members)
    got = list(entries(chunked(compress(data)), "layer"))
    kinds = {"whiteout": "file", "opaque": "file"}
    assert [(e.path, kinds.get(e.type, e.type), e.size) for e in got] == oracle(data)


def test_whiteouts_are_deletions():
    got = {e.path: e for e in entries([build(tarfile.PAX_FORMAT, MEMBERS)], "layer")}
    assert (got["etc/.wh.old.conf"].type, got["etc/.wh.old.conf"].deletes) == (
        "whiteout",
        "etc/old.conf",
    )
    assert (got["var/cache/.wh..wh..opq"].type, got["var/cache/.wh..wh..opq"].deletes) == (
        "opaque",
        "var/cache/",
    )
    assert got["etc/localtime"].link == "/usr/share/zoneinfo/UTC"
    assert got["etc"].listed == "etc/"
    assert got["etc/os-release"].mode == 0o640


def test_pax_names_keep_non_ascii_paths():
    data = build(tarfile.PAX_FORMAT, [(NON_ASCII, "file", b"tz")])
    assert [e.path for e in entries([data], "layer")] == [NON_ASCII]


def test_concatenated_gzip_members_and_trailing_zero_padding():
    data = build(tarfile.PAX_FORMAT, MEMBERS)
    half = len(data) // 1024 * 512
    stream = gzip.compress(data[:half]) + gzip.compress(data[half:]) + b"\0" * 64
    assert [e.path for e in entries(chunked(stream), "layer")] == [m[0] for m in MEMBERS]


def test_an_empty_layer_lists_nothing():
    assert list(entries([gzip.compress(b"")], "layer")) == []
    assert list(entries([build(tarfile.PAX_FORMAT, [])], "layer")) == []


def test_the_whole_stream_is_consumed_after_the_end_marker():
    seen = []

    def source():
        for c in chunked(gzip.compress(build(tarfile.PAX_FORMAT, MEMBERS) + bytes(8192))):
            seen.append(c)
            yield c

    list(entries(source(), "layer"))
    assert b"".join(seen) == gzip.compress(build(tarfile.PAX_FORMAT, MEMBERS) + bytes(8192))


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: gzip.compress(d)[: len(gzip.compress(d)) // 2], "cannot decompress"),
        (lambda d: d[:700], "tar ends inside"),
        (lambda d: d[:148] + b"9999999\0" + d[156:], "corrupt tar header at byte 0"),
        (lambda d: b"\x1f\x8b" + b"garbage" * 10, "cannot decompress"),
    ],
    ids=["truncated-gzip", "truncated-tar", "bad-checksum", "not-gzip"],
)
def test_damaged_layers_fail_with_a_message_naming_the_layer(damage, message):
    data = build(tarfile.PAX_FORMAT, MEMBERS)
    with pytest.raises(UnsupportedError, match=message) as err:
        list(entries(chunked(damage(data)), "registry/app@sha256:abc"))
    assert str(err.value).startswith("registry/app@sha256:abc")
