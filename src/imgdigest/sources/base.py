"""What every place an image can live in offers: manifests, blobs and streams by digest.

A registry, an OCI layout directory and a ``docker save`` archive hold the same
content-addressed graph, so the exploring commands and ``copy`` are written once
against :class:`ImageSource`. Everything a source returns is verified against the
digest it was asked for; streams verify as they go and fail at the end on a mismatch,
which is what lets a caller remove a partial file.

Local sources (a layout directory, an archive) read their blobs from open files the
same way, so the bounded read and the hash-as-you-read stream live here once:
:func:`read_verified` and :func:`verified_chunks`.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import IO, TypeVar

from imgdigest.digest import Digest
from imgdigest.errors import UsageError, VerificationError
from imgdigest.media import Manifest

T = TypeVar("T")

# Image configs and manifests are small; anything bigger fetched "whole" is refused.
MAX_DOCUMENT_BYTES = 8 * 1024 * 1024
#: How much of a local blob is read, hashed and passed on at a time.
CHUNK = 1024 * 1024


class ImageSource(ABC):
    """One image reference's home; ``where`` names it in messages and output."""

    where: str = ""
    # The tag or digest the reference names, when it names one.
    tag: str | None = None
    digest: str | None = None

    @abstractmethod
    async def top(self) -> tuple[Manifest, str]:
        """The manifest or index the reference names, and its digest."""

    @abstractmethod
    async def manifest(self, digest: str) -> Manifest:
        """A manifest by digest, verified."""

    @abstractmethod
    async def blob(self, digest: str, max_bytes: int = MAX_DOCUMENT_BYTES) -> bytes:
        """A small blob (a config) by digest, read whole and verified."""

    @abstractmethod
    def stream(self, digest: str) -> AsyncIterator[bytes]:
        """A blob's bytes as they come; raises ``VerificationError`` at the end on mismatch."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release files or connections held by the source."""

    def at(self, digest: str) -> str:
        """How to name a piece of content of this source in a message."""
        return f"{self.where.split('@', 1)[0]}@{digest}"


def verify_bytes(data: bytes, digest: str, what: str) -> bytes:
    """Return ``data`` if it hashes to ``digest``; the message names ``what``."""
    want = Digest.parse(digest)
    got = Digest.of(data, want.algorithm)
    if got != want:
        raise VerificationError(f"{what}: content does not match its digest; got {got}")
    return data


def read_verified(f: IO[bytes], digest: str, what: str, max_bytes: int) -> bytes:
    """At most ``max_bytes`` of an open blob, verified against ``digest``; more is refused."""
    data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise UsageError(f"{what}: blob larger than {max_bytes} bytes")
    return verify_bytes(data, digest, what)


def verified_chunks(f: IO[bytes], digest: str, what: str) -> Iterator[bytes]:
    """An open blob in chunks, hashed as read; ``VerificationError`` at the end on a mismatch."""
    verifier = Digest.parse(digest).verifier()
    while chunk := f.read(CHUNK):
        verifier.update(chunk)
        yield chunk
    if not verifier.verified():
        raise VerificationError(f"{what}: content does not match its digest; got {verifier.actual}")


async def verified_stream(
    chunks: AsyncIterator[bytes], digest: str, what: str, size: int | None = None
) -> AsyncIterator[bytes]:
    """Pass ``chunks`` through, checking length and digest once they end."""
    verifier = Digest.parse(digest).verifier()
    total = 0
    async for chunk in chunks:
        total += len(chunk)
        verifier.update(chunk)
        yield chunk
    if size is not None and total != size:
        raise VerificationError(f"{what}: expected {size} bytes, got {total}")
    if not verifier.verified():
        raise VerificationError(f"{what}: content does not match its digest; got {verifier.actual}")


def sync_iter(run: Callable[[Awaitable[T]], T], agen: AsyncIterator[T]) -> Iterator[T]:
    """Drive an async iterator from blocking code, one item per ``run`` call.

    ``run`` is ``Resolver.run``: the event loop only turns while an item is awaited,
    so the connection (and its verification state) simply waits between items.
    """
    try:
        while True:
            try:
                yield run(agen.__anext__())
            except StopAsyncIteration:
                return
    finally:
        aclose = getattr(agen, "aclose", None)
        if aclose is not None:
            run(aclose())


_END = object()


class _Failed:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def prefetch_iter(
    run: Callable[[Awaitable[None]], None], agen: AsyncIterator[bytes], depth: int = 32
) -> Iterator[bytes]:
    """Like :func:`sync_iter`, but the event loop runs in a worker thread ahead of the reader.

    Downloading and hashing (the worker) then overlap with whatever the reader does with
    each chunk, such as decompressing a layer and parsing its tar headers; zlib and
    hashlib release the GIL, so on two cores the two halves truly run side by side. At
    most ``depth`` chunks wait in between. The reader must not use the loop until the
    iterator is exhausted or closed; closing it stops and joins the worker.
    """
    chunks: queue.Queue[object] = queue.Queue(depth)
    stop = threading.Event()

    async def pump() -> None:
        try:
            async for chunk in agen:
                # Wait without blocking the loop: while the reader is slow, the HTTP client
                # then pauses reading the socket and stops its read timeout, instead of
                # timing out once the loop gets to run again.
                while not stop.is_set():
                    try:
                        chunks.put_nowait(chunk)
                        break
                    except queue.Full:
                        await asyncio.sleep(0.005)
                if stop.is_set():
                    return
        finally:
            aclose = getattr(agen, "aclose", None)
            if aclose is not None:
                await aclose()

    def work() -> None:
        try:
            run(pump())
        except BaseException as exc:
            outcome: object = _Failed(exc)
        else:
            outcome = _END
        while not stop.is_set():
            try:
                chunks.put(outcome, timeout=0.1)
                return
            except queue.Full:
                continue

    worker = threading.Thread(target=work, name="imgdigest-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item = chunks.get()
            if item is _END:
                return
            if isinstance(item, _Failed):
                raise item.exc
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        worker.join()
