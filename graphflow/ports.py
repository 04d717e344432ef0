"""Protocols the outside world implements to observe or persist runs."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from graphflow.events import Event


@runtime_checkable
class EventSink(Protocol):
    """Receives every event of a run, in order. Awaited before the run moves on."""

    async def publish(self, event: Event) -> None: ...
