"""In-memory answers for image lookups: tags for a while, digests forever, within a bound.

A tag can move, so its digest is reused only for ``ttl`` seconds; a digest never
changes what it names, so an answer keyed by a digest (the platform child of a pinned
index) is kept until the size bound evicts it. Both live in one LRU ordered dict, so
the bound counts every entry and a hot tag stays in while cold ones go first.

The cache belongs to one event loop and is not locked: every access happens on it.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class _Entry(Generic[V]):
    value: V
    expires: float | None  # None: never (keyed by digest)


class TTLCache(Generic[V]):
    """LRU cache whose entries expire after ``ttl`` unless stored as permanent."""

    def __init__(
        self, ttl: float, max_size: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self.max_size = max_size
        self._clock = clock
        self._data: OrderedDict[object, _Entry[V]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._data)

    def get(self, key: object) -> V | None:
        entry = self._data.get(key)
        if entry is None:
            return None
        if entry.expires is not None and entry.expires <= self._clock():
            del self._data[key]
            return None
        self._data.move_to_end(key)
        return entry.value

    def put(self, key: object, value: V, permanent: bool = False) -> None:
        if not permanent and self.ttl <= 0:
            return
        expires = None if permanent else self._clock() + self.ttl
        self._data[key] = _Entry(value, expires)
        self._data.move_to_end(key)
        while len(self._data) > self.max_size:
            self._data.popitem(last=False)

    def clear(self) -> None:
        self._data.clear()
