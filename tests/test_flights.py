"""One flight per key: shared answers, and cancellation that only ends work nobody awaits."""

from __future__ import annotations

import asyncio

import pytest

from imgdigest.flights import Singleflight


class _Work:
    def __init__(self) -> None:
        self.calls = 0
        self.release = asyncio.Event()
        self.cancelled = False

    async def __call__(self) -> int:
        self.calls += 1
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        return self.calls


def test_concurrent_callers_of_one_key_share_one_run() -> None:
    async def main() -> None:
        flights: Singleflight[str, int] = Singleflight()
        work = _Work()
        callers = [asyncio.create_task(flights.join("k", work)) for _ in range(5)]
        await asyncio.sleep(0)
        assert len(flights) == 1
        work.release.set()
        assert await asyncio.gather(*callers) == [1] * 5
        assert work.calls == 1
        assert len(flights) == 0  # a later caller asks afresh
        assert await flights.join("k", work) == 2

    asyncio.run(main())


def test_a_failure_reaches_every_caller() -> None:
    async def main() -> None:
        flights: Singleflight[str, int] = Singleflight()

        async def fail() -> int:
            await asyncio.sleep(0.01)
            raise ValueError("boom")

        results = await asyncio.gather(
            *(flights.join("k", fail) for _ in range(3)), return_exceptions=True
        )
        assert [type(r) for r in results] == [ValueError] * 3

    asyncio.run(main())


def test_a_cancelled_caller_leaves_the_flight_to_the_others() -> None:
    async def main() -> None:
        flights: Singleflight[str, int] = Singleflight()
        work = _Work()
        first = asyncio.create_task(flights.join("k", work))
        second = asyncio.create_task(flights.join("k", work))
        await asyncio.sleep(0)
        first.cancel()
        await asyncio.sleep(0)
        work.release.set()
        assert await second == 1
        assert first.cancelled()
        assert not work.cancelled

    asyncio.run(main())


def test_the_last_caller_cancelled_ends_the_flight() -> None:
    async def main() -> None:
        flights: Singleflight[str, int] = Singleflight()
        work = _Work()
        callers = [asyncio.create_task(flights.join("k", work)) for _ in range(2)]
        await asyncio.sleep(0)
        for caller in callers:
            caller.cancel()
        await asyncio.gather(*callers, return_exceptions=True)
        await asyncio.sleep(0)
        assert work.cancelled
        assert len(flights) == 0

    asyncio.run(main())


def test_a_started_flight_outlives_a_waiter_that_gave_up_and_lands_once() -> None:
    async def main() -> None:
        flights: Singleflight[str, int] = Singleflight()
        work = _Work()
        landed: list[int] = []
        task = flights.start("k", work, lambda t: landed.append(t.result()))
        assert flights.start("k", work, lambda t: landed.append(-1)) is task
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(flights.join("k", work), 0.01)
        assert not task.done()
        work.release.set()
        assert await task == 1
        await asyncio.sleep(0)
        assert landed == [1]

    asyncio.run(main())


def test_cancel_all_stops_every_flight() -> None:
    async def main() -> None:
        flights: Singleflight[str, int] = Singleflight()
        works = [_Work(), _Work()]
        tasks = [flights.start(str(n), w) for n, w in enumerate(works)]
        await asyncio.sleep(0)
        flights.cancel_all()
        await asyncio.gather(*tasks, return_exceptions=True)
        assert all(w.cancelled for w in works)
        assert len(flights) == 0

    asyncio.run(main())
