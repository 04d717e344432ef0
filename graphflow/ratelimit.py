"""Rate limits per provider: requests per minute, tokens per minute, calls at once.

Shared by every node and run in the process (one limiter per provider and clock, like
circuit breakers are one per name). ``RateWindow`` is the pure part: a log of the calls
started in the last 60 seconds and how long a new call must wait. ``ProviderLimiter``
carries it out on the run's clock. A call reserves an estimate of its tokens before it
starts and is corrected to the server's count when it ends, so the tokens-per-minute
limit holds for what was really spent.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import deque
from dataclasses import dataclass
from typing import Any

import anyio

from graphflow.clock import Clock, RealClock
from graphflow.providers import RateLimits

__all__ = ["ProviderLimiter", "RateWindow", "limiter_for"]

WINDOW = 60.0


@dataclass(slots=True)
class Entry:
    at: float
    tokens: int


class RateWindow:
    """Calls started within the last ``WINDOW`` seconds. Pure: the caller passes the time."""

    def __init__(self, limits: RateLimits) -> None:
        self.limits = limits
        self.log: deque[Entry] = deque()

    def _expire(self, now: float) -> None:
        while self.log and self.log[0].at <= now - WINDOW:
            self.log.popleft()

    def wait_for(self, now: float, tokens: int) -> float:
        """Seconds until a call of ``tokens`` may start (0: now). A call larger than the whole
        tokens-per-minute budget goes once the window is empty, so it is not refused for ever."""
        self._expire(now)
        waits = [0.0]
        rpm, tpm = self.limits.rpm, self.limits.tpm
        if rpm is not None and len(self.log) >= rpm:
            waits.append(self.log[len(self.log) - rpm].at + WINDOW - now)
        if tpm is not None and self.log:
            used = sum(e.tokens for e in self.log)
            excess = used + tokens - tpm
            if excess > 0:
                freed = 0
                for entry in self.log:  # oldest first: wait until enough of them expire
                    freed += entry.tokens
                    if freed >= excess or freed == used:
                        waits.append(entry.at + WINDOW - now)
                        break
        return max(waits)

    def record(self, now: float, tokens: int) -> Entry:
        entry = Entry(now, tokens)
        self.log.append(entry)
        return entry


class ProviderLimiter:
    def __init__(self, limits: RateLimits, clock: Clock) -> None:
        self.window = RateWindow(limits)
        self.clock = clock
        self.lock = anyio.Lock()
        self.slots = anyio.Semaphore(limits.max_concurrent) if limits.max_concurrent else None

    async def acquire(self, tokens: int) -> Entry:
        """Wait for a slot and for room in the window, then count the call as started."""
        if self.slots is not None:
            await self.slots.acquire()
        try:
            async with self.lock:  # one waiter at a time: first come, first served
                while (wait := self.window.wait_for(self.clock.monotonic(), tokens)) > 0:
                    await self.clock.sleep(wait)
                return self.window.record(self.clock.monotonic(), tokens)
        except BaseException:
            if self.slots is not None:
                self.slots.release()
            raise

    def release(self, entry: Entry, tokens: int | None) -> None:
        """The call ended; ``tokens``: what it really used (None: keep the estimate)."""
        if tokens is not None:
            entry.tokens = tokens
        if self.slots is not None:
            self.slots.release()


_by_loop: weakref.WeakKeyDictionary[Any, dict[tuple[Any, ...], ProviderLimiter]] = weakref.WeakKeyDictionary()
_real = RealClock()


def limiter_for(name: str, limits: RateLimits, clock: Clock) -> ProviderLimiter | None:
    """The process's limiter of provider ``name`` (None when it sets no limits). Runs on the real
    clock share one; a fake clock (tests) gets its own."""
    if limits.rpm is None and limits.tpm is None and limits.max_concurrent is None:
        return None
    loop = asyncio.get_running_loop()
    limiters = _by_loop.setdefault(loop, {})
    key = (name, limits, "real" if isinstance(clock, RealClock) else id(clock))
    limiter = limiters.get(key)
    if limiter is None:
        limiter = limiters[key] = ProviderLimiter(limits, _real if isinstance(clock, RealClock) else clock)
    return limiter
