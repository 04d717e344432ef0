"""The one place that interprets resilience policies. Pure: no I/O, no events, no sleeping.

Clocks and randomness are injected. A breaker never emits anything: its transitions pile
up as ``StateChange`` values that the runner takes with ``take_changes()`` and turns into
``BreakerChanged`` events. Everything runs on the event loop's one thread, so no locks.
"""

from __future__ import annotations

import itertools
import math
import random
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from graphflow.errors import NodeError
from graphflow.policies import BreakerPolicy, RetryPolicy


class MonotonicClock(Protocol):
    def monotonic(self) -> float: ...

    def time(self) -> float:
        """Wall-clock Unix seconds: only at the snapshot boundary, to carry an open time across processes."""
        ...


class BreakerOpen(NodeError):
    """A call refused by an open (or fully probed half-open) breaker. Never retried."""

    def __init__(
        self, breaker: str, retry_after: float, *, node_id: str | None = None, attempt: int | None = None
    ) -> None:
        message = f"circuit breaker {breaker!r} is open; retry after {retry_after:.3g}s"
        super().__init__(message, node_id=node_id, attempt=attempt)
        self.breaker = breaker
        self.retry_after = retry_after


def backoff_delay(policy: RetryPolicy, attempt: int, rng: random.Random) -> float:
    """Seconds to wait after ``attempt`` (1-based) failed: the bound is min(max_delay, base_delay * 2**(attempt-1))."""
    if attempt < 1:
        raise ValueError(f"attempt must be >= 1, got {attempt}")
    try:
        raw = policy.base_delay * 2.0 ** (attempt - 1)
    except OverflowError:  # 2.0 ** 1024 and beyond
        raw = math.inf
    bound = min(policy.max_delay, raw)
    return bound if policy.jitter == "none" else rng.uniform(0.0, bound)


def should_retry(policy: RetryPolicy, error_type: str | BaseException, attempt: int) -> bool:
    """Whether the attempt that just failed (1-based) gets another try.

    ``error_type`` is an error's class name, or the exception itself: then every class in
    its MRO is matched, so ``"ConnectionError"`` in ``retry_on`` also covers ``ConnectionRefusedError``.
    """
    if attempt < 1:
        raise ValueError(f"attempt must be >= 1, got {attempt}")
    names = {c.__name__ for c in type(error_type).__mro__} if isinstance(error_type, BaseException) else {error_type}
    if attempt >= policy.max_attempts or BreakerOpen.__name__ in names or names & set(policy.no_retry_on):
        return False
    return not policy.retry_on or bool(names & set(policy.retry_on))


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True, slots=True)
class StateChange:
    breaker: str
    from_state: BreakerState
    to_state: BreakerState
    reason: str
    at_monotonic: float
    """Clock's monotonic time of the transition (a lazily noticed timeout: when it expired). Not an event's ``at``."""


class Permit:
    """Leave to make one call through a breaker. Settle it exactly once."""

    def __init__(self, breaker: CircuitBreaker, generation: int, probe_id: int | None) -> None:
        self._breaker = breaker
        self._generation = generation
        self._probe_id = probe_id
        self.probe = probe_id is not None
        """Whether this call is a half-open probe."""
        self.settled: str | None = None
        """None until settled, then "success", "failure" or "release"."""

    def success(self) -> None:
        self._settle("success")

    def failure(self) -> None:
        """The resource failed (an error or a timeout of the call)."""
        self._settle("failure")

    def release(self) -> None:
        """The call ended through no fault of the resource (cancelled, waiting for a human, skipped)."""
        self._settle("release")

    def _settle(self, outcome: str) -> None:
        if self.settled is not None:
            raise ValueError(f"permit of breaker {self._breaker.name!r} was already settled ({self.settled})")
        self.settled = outcome
        self._breaker._settle(self, outcome)


class CircuitBreaker:
    """closed -> open -> half_open -> closed | open. Timeouts are checked lazily on each query."""

    def __init__(self, policy: BreakerPolicy, clock: MonotonicClock) -> None:
        self.policy = policy
        self.name = policy.name
        self._clock = clock
        self._state = BreakerState.CLOSED
        self._consecutive = 0
        self._recent: deque[bool] = deque(maxlen=policy.window)  # True = failure; closed-state calls only
        self._opened_at: float | None = None
        self._probes: dict[int, float] = {}  # probe id -> monotonic start
        self._probe_ids = itertools.count()
        self._generation = 0  # bumped on every transition: permits from an earlier state no longer count
        self._changes: list[StateChange] = []

    @property
    def state(self) -> BreakerState:
        self._refresh(self._clock.monotonic())
        return self._state

    def acquire(self) -> Permit:
        """A permit for one call, or ``BreakerOpen`` when the breaker refuses it."""
        now = self._clock.monotonic()
        self._refresh(now)
        if self._state is BreakerState.CLOSED:
            return Permit(self, self._generation, None)
        if self._state is BreakerState.OPEN:
            assert self._opened_at is not None
            raise BreakerOpen(self.name, self._opened_at + self.policy.reset_timeout - now)
        if len(self._probes) >= self.policy.half_open_max_probes:
            raise BreakerOpen(self.name, min(self._probes.values()) + self.policy.probe_timeout - now)
        probe_id = next(self._probe_ids)
        self._probes[probe_id] = now
        return Permit(self, self._generation, probe_id)

    def take_changes(self) -> list[StateChange]:
        """Transitions since the last call, oldest first; each is returned once."""
        self._refresh(self._clock.monotonic())
        changes, self._changes = self._changes, []
        return changes

    def snapshot(self) -> dict[str, Any]:
        """JSON data to persist. Monotonic clocks differ between processes, so the open time is
        also kept on the wall clock (``opened_wall``): a later process counts the time in between."""
        now = self._clock.monotonic()
        self._refresh(now)
        open_for = None if self._opened_at is None else now - self._opened_at
        return {
            "name": self.name,
            "state": self._state.value,
            "consecutive_failures": self._consecutive,
            "opened_at": self._opened_at,
            "open_for": open_for,
            "opened_wall": None if open_for is None else self._clock.time() - open_for,
            "recent": ["failure" if failed else "success" for failed in self._recent],
        }

    @classmethod
    def restore(cls, policy: BreakerPolicy, clock: MonotonicClock, snapshot: Mapping[str, Any]) -> CircuitBreaker:
        """A breaker in the snapshot's state. Probes in flight at snapshot time are not restored."""
        if snapshot.get("name") != policy.name:
            raise ValueError(f"snapshot of breaker {snapshot.get('name')!r} restored with policy {policy.name!r}")
        breaker = cls(policy, clock)
        breaker._state = BreakerState(snapshot["state"])
        breaker._consecutive = int(snapshot.get("consecutive_failures", 0))
        breaker._recent.extend(outcome == "failure" for outcome in snapshot.get("recent", ()))
        open_for = snapshot.get("open_for")
        if open_for is not None:
            opened_wall = snapshot.get("opened_wall")
            if opened_wall is not None:  # time since the snapshot counts; a wall clock set back never shortens it
                open_for = max(float(open_for), clock.time() - float(opened_wall))
            breaker._opened_at = clock.monotonic() - float(open_for)
        elif breaker._state is BreakerState.OPEN:
            raise ValueError(f"snapshot of open breaker {policy.name!r} has no open_for")
        return breaker

    def _refresh(self, now: float) -> None:
        """Apply the timeouts that expired by ``now``, each at the time it expired."""
        policy = self.policy
        while True:
            if self._state is BreakerState.OPEN:
                assert self._opened_at is not None
                to, at, reason = BreakerState.HALF_OPEN, self._opened_at + policy.reset_timeout, "reset timeout"
            elif self._state is BreakerState.HALF_OPEN and self._probes:
                at = min(self._probes.values()) + policy.probe_timeout
                to, reason = BreakerState.OPEN, f"probe unsettled after {policy.probe_timeout:g}s"
            else:
                return
            if at > now:
                return
            self._move(to, reason, at)

    def _settle(self, permit: Permit, outcome: str) -> None:
        now = self._clock.monotonic()
        self._refresh(now)
        if permit._probe_id is not None:
            if self._probes.pop(permit._probe_id, None) is None:
                return  # the probe timed out, or another probe already settled the half-open state
            if outcome == "success":
                self._move(BreakerState.CLOSED, "probe succeeded", now)
            elif outcome == "failure":
                self._move(BreakerState.OPEN, "probe failed", now)
            return
        if outcome == "release" or self._state is not BreakerState.CLOSED or permit._generation != self._generation:
            return
        failed = outcome == "failure"
        self._recent.append(failed)
        self._consecutive = self._consecutive + 1 if failed else 0
        calls, rate, policy = len(self._recent), sum(self._recent) / len(self._recent), self.policy
        if self._consecutive >= policy.failure_threshold:
            self._move(BreakerState.OPEN, f"{self._consecutive} consecutive failures", now)
        elif policy.failure_rate is not None and calls >= policy.min_calls and rate >= policy.failure_rate:
            self._move(BreakerState.OPEN, f"failure rate {rate:.0%} over the last {calls} calls", now)

    def _move(self, to: BreakerState, reason: str, at: float) -> None:
        self._changes.append(StateChange(self.name, self._state, to, reason, at))
        self._state = to
        self._generation += 1
        self._probes.clear()
        if to is BreakerState.OPEN:
            self._opened_at = at
        elif to is BreakerState.CLOSED:
            self._opened_at, self._consecutive = None, 0
            self._recent.clear()


class BreakerRegistry:
    """Breakers shared by name across nodes and runs."""

    def __init__(self, clock: MonotonicClock, snapshots: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self._clock = clock
        self._breakers: dict[str, CircuitBreaker] = {}
        self._saved = dict(snapshots or {})
        self.conflicts: dict[str, list[BreakerPolicy]] = {}
        """Per breaker name, policies met after the first one, which was kept (``get(...).policy``)."""

    def get(self, policy: BreakerPolicy) -> CircuitBreaker:
        """The breaker named ``policy.name``; created on first use, from a saved snapshot if there is one."""
        breaker = self._breakers.get(policy.name)
        if breaker is None:
            saved = self._saved.pop(policy.name, None)
            breaker = CircuitBreaker(policy, self._clock)
            if saved is not None:
                breaker = CircuitBreaker.restore(policy, self._clock, saved)
            self._breakers[policy.name] = breaker
        elif breaker.policy != policy and policy not in self.conflicts.setdefault(policy.name, []):
            self.conflicts[policy.name].append(policy)
        return breaker

    def states(self) -> dict[str, BreakerState]:
        return {name: breaker.state for name, breaker in self._breakers.items()}

    def reset(self, name: str) -> bool:
        """Forget the breaker's state, saved or live: its next use starts closed with nothing
        counted. A run holding the old breaker keeps it until it ends. False if unknown."""
        live = self._breakers.pop(name, None)
        saved = self._saved.pop(name, None)
        self.conflicts.pop(name, None)
        return live is not None or saved is not None

    def snapshots(self) -> dict[str, dict[str, Any]]:
        """Every breaker's snapshot, saved ones not used since loading included unchanged."""
        live = {name: breaker.snapshot() for name, breaker in self._breakers.items()}
        return {**{name: dict(saved) for name, saved in self._saved.items()}, **live}

    def take_changes(self) -> list[StateChange]:
        """Every breaker's transitions since the last call, in the order they happened."""
        changes = [change for breaker in self._breakers.values() for change in breaker.take_changes()]
        return sorted(changes, key=lambda change: change.at_monotonic)
