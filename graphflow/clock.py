"""Clocks are injected so timeouts and delays can be tested without real sleeping."""

from __future__ import annotations

import heapq
import itertools
import time
from typing import Protocol

import anyio


class Clock(Protocol):
    def monotonic(self) -> float:
        """Seconds for measuring durations."""
        ...

    def time(self) -> float:
        """Wall-clock Unix seconds for event timestamps."""
        ...

    async def sleep(self, seconds: float) -> None: ...


class RealClock:
    # The functions themselves, not methods calling them: the run loop reads a clock several
    # times per node.
    monotonic = staticmethod(time.perf_counter)
    time = staticmethod(time.time)

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(seconds)


class FakeClock:
    """A clock that only moves when told to, or by itself with ``autojump()``.

    ``advance(dt)`` wakes every sleeper whose deadline has passed. ``autojump()`` is a
    background task that, whenever every task is blocked, jumps to the next deadline:
    tests of timeouts and delays then finish at once without real sleeping.
    """

    def __init__(self, start: float = 0.0, wall_start: float = 1_700_000_000.0) -> None:
        self._now = start
        self._wall_offset = wall_start - start
        self._sleepers: list[tuple[float, int, anyio.Event]] = []
        self._counter = itertools.count()

    def monotonic(self) -> float:
        return self._now

    def time(self) -> float:
        return self._now + self._wall_offset

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await anyio.lowlevel.checkpoint()
            return
        event = anyio.Event()
        heapq.heappush(self._sleepers, (self._now + seconds, next(self._counter), event))
        await event.wait()

    def advance(self, seconds: float) -> None:
        self._now += seconds
        while self._sleepers and self._sleepers[0][0] <= self._now:
            _, _, event = heapq.heappop(self._sleepers)
            event.set()

    def next_deadline(self) -> float | None:
        return self._sleepers[0][0] if self._sleepers else None

    async def autojump(self) -> None:
        """Run in a task group beside the code under test; cancel it when done."""
        while True:
            await anyio.wait_all_tasks_blocked()
            deadline = self.next_deadline()
            if deadline is None:
                await anyio.sleep(0.001)  # nothing sleeps on us: let real I/O progress
                continue
            self.advance(max(0.0, deadline - self._now))
