"""The replay player: a stored run's events, a cursor over them, and the run's state there.

Pure: no NiceGUI, no I/O, no clock. The replay page drives it from a ``ui.timer`` and
hands it the wall time that passed; tests hand it numbers.

- ``cursor`` is the index of the last applied event; -1 is "before the first event".
- ``state_at(i)`` is ``RunState.from_events(events[:i + 1])``. It starts from the nearest
  snapshot below ``i`` (one every ``snapshot_every`` events, taken lazily as the log is
  walked), so scrubbing a long run applies at most ``snapshot_every`` events per move.
- Playback time follows the events' ``at`` timestamps, scaled by ``speed`` (``math.inf``:
  "max", a fixed number of events per tick; ``PACED``: one event every ``PACED_STEP``
  seconds, for runs too fast to follow in real time). Idle gaps longer than ``max_gap``
  seconds (a run recovered after a crash, a long backoff) are shortened to ``max_gap``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from graphflow import events as ev
from graphflow.model import GraphSpec
from graphflow.state import RunState

PACED = -1.0
"""Speed: one event per ``PACED_STEP`` seconds, whatever the run's own timing."""
PACED_STEP = 0.35
SPEEDS: dict[str, float] = {"paced": PACED, "1x": 1.0, "2x": 2.0, "5x": 5.0, "10x": 10.0, "max": math.inf}
REAL_TIME_FROM = 3.0
"""Runs shorter than this (seconds of playback at 1x) are replayed paced by default."""
SNAPSHOT_EVERY = 200
MAX_GAP = 2.0
MAX_EVENTS_PER_TICK = 20
"""At speed "max": events applied per ``advance`` call."""


class Player:
    def __init__(self, events: Sequence[ev.Event], *, snapshot_every: int = SNAPSHOT_EVERY,
                 max_gap: float = MAX_GAP, speed: float = 1.0) -> None:
        if snapshot_every < 1:
            raise ValueError(f"snapshot_every must be at least 1, not {snapshot_every}")
        self.events = list(events)
        self.snapshot_every = snapshot_every
        self.speed = speed
        self.cursor = -1
        self._state = RunState()
        self._snapshots: dict[int, RunState] = {0: RunState()}
        """State after the first ``n`` events, for ``n`` a multiple of ``snapshot_every``."""
        self.offsets = _offsets(self.events, max_gap)
        """Playback time (seconds from the first event) of each event, gaps shortened."""
        self.position = 0.0
        """Playback time the cursor has reached."""
        self._carry = 0.0
        """Paced playback: wall time not yet spent on an event."""

    def __len__(self) -> int:
        return len(self.events)

    @property
    def default_speed(self) -> str:
        """The ``SPEEDS`` key to start with: real time, unless the run is too fast to follow."""
        return "1x" if self.offsets and self.offsets[-1] >= REAL_TIME_FROM else "paced"

    @property
    def speed(self) -> float:
        return self._speed

    @speed.setter
    def speed(self, value: float) -> None:
        if not (value > 0 or value == PACED):
            raise ValueError(f"speed must be positive (or PACED), not {value}")
        self._speed = value
        self._carry = 0.0

    @property
    def state(self) -> RunState:
        """The state at the cursor (the player's own: copy it before changing it)."""
        return self._state

    @property
    def current(self) -> ev.Event | None:
        return self.events[self.cursor] if self.cursor >= 0 else None

    @property
    def at_start(self) -> bool:
        return self.cursor < 0

    @property
    def at_end(self) -> bool:
        return self.cursor >= len(self.events) - 1

    @property
    def snapshot_indices(self) -> list[int]:
        """Event counts a snapshot is kept for (0 included)."""
        return sorted(self._snapshots)

    def state_at(self, index: int) -> RunState:
        """A fresh ``RunState`` after events ``0..index`` (-1: before any event)."""
        index = self._check(index)
        count = index + 1
        base = count - count % self.snapshot_every
        while base not in self._snapshots:  # snapshots are taken in order: walk down to the last one
            base -= self.snapshot_every
        state = self._snapshots[base].copy()
        for n in range(base, count):
            state.apply(self.events[n])
            if (n + 1) % self.snapshot_every == 0 and n + 1 not in self._snapshots:
                self._snapshots[n + 1] = state.copy()
        return state

    def seek(self, index: int) -> RunState:
        """Move the cursor to ``index`` (clamped to -1..last); returns the state there (``state``)."""
        index = max(-1, min(index, len(self.events) - 1))
        if index > self.cursor and index - self.cursor <= self.snapshot_every:
            self._forward(index)  # nearby and ahead: cheaper than a rebuild
        elif index != self.cursor:
            self._state = self.state_at(index)
            self.cursor = index
        self.position = self.offsets[index] if index >= 0 else 0.0
        return self._state

    def step(self) -> ev.Event | None:
        """Apply the next event; None at the end."""
        if self.at_end:
            return None
        self.seek(self.cursor + 1)
        return self.current

    def to_start(self) -> RunState:
        return self.seek(-1)

    def to_end(self) -> RunState:
        return self.seek(len(self.events) - 1)

    def advance(self, elapsed: float) -> list[ev.Event]:
        """Playback: ``elapsed`` wall seconds passed; apply the events due by then."""
        if elapsed < 0:
            raise ValueError(f"elapsed time cannot be negative: {elapsed}")
        if self.at_end:
            return []
        start = self.cursor
        if math.isinf(self.speed) or self.speed == PACED:
            if self.speed == PACED:
                self._carry += elapsed
                count = int(self._carry / PACED_STEP)
                self._carry -= count * PACED_STEP
            else:
                count = MAX_EVENTS_PER_TICK
            target = min(self.cursor + count, len(self.events) - 1)
            self.position = self.offsets[target] if target >= 0 else 0.0
        else:
            self.position += elapsed * self.speed
            target = self.cursor
            while target + 1 < len(self.events) and self.offsets[target + 1] <= self.position:
                target += 1
        self._forward(target)
        return self.events[start + 1:target + 1]

    def _forward(self, index: int) -> None:
        for n in range(self.cursor + 1, index + 1):
            self._state.apply(self.events[n])
            if (n + 1) % self.snapshot_every == 0 and n + 1 not in self._snapshots:
                self._snapshots[n + 1] = self._state.copy()
        self.cursor = max(self.cursor, index)

    def _check(self, index: int) -> int:
        if not -1 <= index < len(self.events):
            raise IndexError(f"event index {index} is outside -1..{len(self.events) - 1}")
        return index


def _offsets(events: Sequence[ev.Event], max_gap: float) -> list[float]:
    offsets: list[float] = []
    for i, event in enumerate(events):
        gap = 0.0 if i == 0 else min(max(event.at - events[i - 1].at, 0.0), max_gap)
        offsets.append((offsets[-1] if offsets else 0.0) + gap)
    return offsets


# ---------------------------------------------------------------- what the canvas shows


def breaker_names(spec: GraphSpec) -> dict[str, str]:
    """Breaker name by node id, for the nodes that have one."""
    return {node.id: node.breaker.name for node in spec.nodes if node.breaker is not None}


def changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """What to send so that a view showing ``before`` shows ``after`` (None clears)."""
    diff = {key: value for key, value in after.items() if before.get(key) != value}
    diff.update({key: None for key in before if key not in after})
    return diff
