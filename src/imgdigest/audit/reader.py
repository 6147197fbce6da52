"""Read the JSON ``kubectl get … -o json`` prints, one object at a time.

A cluster's pod list runs to tens of megabytes, so it is never held whole: ijson's C
parser streams it, and each item of a ``List`` is built alone and handed on, so memory
stays flat whatever the number of pods. A stream may hold several documents one after
another (``kubectl get pods -A -o json; kubectl get deploy,rs -A -o json``), each a
``List`` or a single object.

Standard input is spooled to a temporary file first: a syntax error is then reported with
its line, found by re-reading the text with the standard ``json`` module (only on error).
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from collections.abc import Iterator
from typing import IO, Any

import ijson
from ijson.common import ObjectBuilder

from imgdigest.errors import DocumentError

STDIN = "-"
_ENDS = frozenset(("end_map", "end_array"))
_STARTS = frozenset(("start_map", "start_array"))


def read_objects(path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every object of ``path`` (``-``: stdin) with where it is (``FILE: items[3]``)."""
    with _opened(path) as stream:
        try:
            if _only_lists(stream):
                n = -1
                for n, item in enumerate(_list_items(stream, path)):
                    yield f"{path}: items[{n}]", item
                if n >= 0:
                    return
            stream.seek(0)
            yield from _objects(stream, path)
        except ijson.JSONError as exc:
            raise _syntax_error(stream, path, exc) from None
        except UnicodeDecodeError:
            raise DocumentError(f"{path}: not UTF-8 text", file=path) from None


class _opened:
    """``path`` opened for binary reading; stdin spooled so it can be re-read on error."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.stream: IO[bytes] | None = None

    def __enter__(self) -> IO[bytes]:
        if self.path == STDIN:
            spool = tempfile.TemporaryFile()
            shutil.copyfileobj(sys.stdin.buffer, spool, 1 << 20)
            spool.seek(0)
            self.stream = spool
            return spool
        try:
            self.stream = open(self.path, "rb")
        except IsADirectoryError:
            raise DocumentError(f"{self.path}: is a directory", file=self.path) from None
        except OSError as exc:
            why = exc.strerror or str(exc)
            raise DocumentError(f"{self.path}: cannot read: {why}", file=self.path) from None
        return self.stream

    def __exit__(self, *exc: object) -> None:
        if self.stream is not None:
            self.stream.close()


def _only_lists(stream: IO[bytes]) -> bool:
    """Whether every top-level ``kind`` is a list's (what kubectl prints for ``get -A``).

    Then the items are built by ijson's C builder alone, the fast path; anything else (a
    single object, a document without a kind) goes through the general reader below.
    """
    kinds = list(ijson.items(stream, "kind", multiple_values=True))
    stream.seek(0)
    return bool(kinds) and all(isinstance(k, str) and k.endswith("List") for k in kinds)


def _list_items(stream: IO[bytes], path: str) -> Iterator[dict[str, Any]]:
    for n, item in enumerate(
        ijson.items(stream, "items.item", multiple_values=True, use_float=True)
    ):
        if not isinstance(item, dict):
            kind = type(item).__name__
            raise DocumentError(f"{path}: items[{n}]: expected an object, got {kind}", file=path)
        yield item


def _objects(stream: IO[bytes], path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    documents = 0
    top: dict[str, Any] = {}
    key = ""
    item = 0
    builder: ObjectBuilder | None = None
    root = ""  # the prefix whose value ``builder`` is building
    for prefix, event, value in ijson.parse(stream, multiple_values=True, use_float=True):
        if builder is not None:
            builder.event(event, value)
            if prefix == root and event in _ENDS:
                if root == "items.item":
                    if not isinstance(builder.value, dict):
                        kind = type(builder.value).__name__
                        raise DocumentError(
                            f"{path}: items[{item}]: expected an object, got {kind}", file=path
                        )
                    yield f"{path}: items[{item}]", builder.value
                    item += 1
                else:
                    top[key] = builder.value
                builder = None
            continue
        if prefix == "":
            if event == "start_map":
                documents += 1
                top, item = {}, 0
            elif event == "map_key":
                key = value
            elif event == "end_map":
                if "items" not in top and top:
                    yield f"{path}: document {documents}", top
            else:
                what = "an array" if event == "start_array" else "a scalar"
                raise DocumentError(
                    f"{path}: expected a JSON object (kubectl get -o json), got {what}",
                    file=path,
                )
        elif prefix == "items" and key == "items" and event in ("start_array", "end_array"):
            top["items"] = True
        elif prefix == "items.item" and key == "items":
            builder, root = ObjectBuilder(), prefix
            builder.event(event, value)
            if event not in _STARTS:
                raise DocumentError(
                    f"{path}: items[{item}]: expected an object, got {type(value).__name__}",
                    file=path,
                )
        elif prefix == key and "." not in prefix:
            if key == "items":
                raise DocumentError(f"{path}: items: expected an array", file=path)
            if event in _STARTS:
                builder, root = ObjectBuilder(), prefix
                builder.event(event, value)
            else:
                top[key] = value
    if documents == 0:
        raise _empty(path)


def _empty(path: str) -> DocumentError:
    return DocumentError(
        f"{path}: no JSON object (expected what kubectl get -o json prints)", file=path
    )


def _syntax_error(stream: IO[bytes], path: str, exc: Exception) -> DocumentError:
    """The error with the line the standard parser stops at (the text is re-read once)."""
    stream.seek(0)
    text = stream.read().decode("utf-8", errors="replace")
    if not text.strip():
        return _empty(path)
    decoder = json.JSONDecoder()
    pos = 0
    try:
        while True:
            while pos < len(text) and text[pos].isspace():
                pos += 1
            if pos >= len(text):
                break
            _, pos = decoder.raw_decode(text, pos)
    except json.JSONDecodeError as err:
        return DocumentError(
            f"{path}:{err.lineno}: not valid JSON: {err.msg}", file=path, line=err.lineno
        )
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else "incomplete"
    return DocumentError(f"{path}: not valid JSON: {first}", file=path)
