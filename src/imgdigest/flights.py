"""One flight per question: concurrent callers asking the same thing share one answer.

The resolver (identical references in a batch) and the webhook (a burst of Pods from one
rollout) both must ask a registry once per question however many callers wait for it,
so both use :class:`Singleflight`.

Each flight is a task of its own rather than work done inside the first caller, so no
caller's fate decides the others': a caller that is cancelled, or stops waiting at its
deadline, leaves the flight running for those still waiting. Two ways to wait:

- :meth:`Singleflight.join` awaits the answer; when the last caller waiting on a flight
  is cancelled, the flight is cancelled too, so an interrupted run leaves no work behind.
- :meth:`Singleflight.start` hands out the task itself, for a caller that waits with a
  time budget (``asyncio.wait``) and wants the flight to land on its own afterwards: the
  webhook's lookups outlive the request that started them and fill the cache for the
  next one. Such a flight is never cancelled by its waiters, only by :meth:`cancel_all`.

A flight belongs to one event loop and is not locked: every access happens on it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass(slots=True)
class _Flight(Generic[V]):
    task: asyncio.Task[V]
    waiting: int = 0  # callers inside join()
    detached: bool = False  # handed out by start(): it lands on its own


class Singleflight(Generic[K, V]):
    """At most one running task per key; later callers of a key share the running one."""

    def __init__(self) -> None:
        self._flights: dict[K, _Flight[V]] = {}

    def __len__(self) -> int:
        return len(self._flights)

    def start(
        self,
        key: K,
        work: Callable[[], Coroutine[Any, Any, V]],
        landed: Callable[[asyncio.Task[V]], None] | None = None,
    ) -> asyncio.Task[V]:
        """The running flight for ``key``, or a new one running ``work()``.

        ``landed(task)`` is called once when a new flight ends (after it has left the
        table, so a caller arriving then starts afresh); it is ignored when joining one.
        """
        flight = self._flight(key, work, landed)
        flight.detached = True
        return flight.task

    async def join(self, key: K, work: Callable[[], Coroutine[Any, Any, V]]) -> V:
        """The answer of the running flight for ``key``, or of a new one running ``work()``."""
        flight = self._flight(key, work, None)
        flight.waiting += 1
        try:
            return await asyncio.shield(flight.task)
        except asyncio.CancelledError:
            if flight.waiting == 1 and not flight.detached:
                flight.task.cancel()
            raise
        finally:
            flight.waiting -= 1

    def cancel_all(self) -> None:
        """Cancel every flight still running."""
        for flight in list(self._flights.values()):
            flight.task.cancel()

    def _flight(
        self,
        key: K,
        work: Callable[[], Coroutine[Any, Any, V]],
        landed: Callable[[asyncio.Task[V]], None] | None,
    ) -> _Flight[V]:
        flight = self._flights.get(key)
        if flight is None:
            task = asyncio.get_running_loop().create_task(work())
            flight = self._flights[key] = _Flight(task)
            task.add_done_callback(lambda t: self._landed(key, t, landed))
        return flight

    def _landed(
        self,
        key: K,
        task: asyncio.Task[V],
        landed: Callable[[asyncio.Task[V]], None] | None,
    ) -> None:
        flight = self._flights.get(key)
        if flight is not None and flight.task is task:
            del self._flights[key]
        if not task.cancelled():
            task.exception()  # retrieved: every waiter that is left gets it from the task
        if landed is not None:
            landed(task)
