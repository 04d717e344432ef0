"""An in-memory event sink that others can subscribe to while a run goes on."""

from __future__ import annotations

import math
from collections.abc import AsyncGenerator, Sequence
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectSendStream

from graphflow.events import LOOP_END_KINDS, Event, NodeText
from graphflow.ports import EventSink, ReplaySink


class EventLog:
    """Keeps every event and fans them out to subscribers.

    ``subscribe()`` returns a stream that first replays what already happened, then
    follows live, and ends after the run's final event or its ``run_waiting`` (or at ``close()``).
    A ``run_resumed`` published after a ``run_waiting`` opens the log again: the same run went on
    in the same process (``Workspace`` continues a run woken while it was still running).
    """

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._subscribers: list[MemoryObjectSendStream[Event]] = []
        self._watchers: list[MemoryObjectSendStream[Event | NodeText]] = []
        self.closed = False

    async def publish(self, event: Event) -> None:
        if self.closed and event.kind == "run_resumed":  # woken while its loop was ending: it goes on here
            self.closed = False  # (a new subscription follows it; one that ended at run_waiting stays ended)
        self._fan_out(event)
        if event.kind in LOOP_END_KINDS:  # a waiting run continues later in a new log
            self.close()

    def _fan_out(self, event: Event) -> None:
        self.events.append(event)
        _send_all(self._subscribers, event)
        self.show(event)

    async def replay(self, events: Sequence[Event]) -> None:
        """A resumed run's stored events (``ports.ReplaySink``): those after the last one held are
        kept and shown, and the log stays open through a replayed ``run_waiting``: the run goes on."""
        last = self.events[-1].seq if self.events else -1
        for event in events:
            if event.seq > last:
                self._fan_out(event)

    def show(self, note: Event | NodeText) -> None:
        """To ``watch()`` streams only: a ``NodeText`` is not kept."""
        _send_all(self._watchers, note)

    def close(self) -> None:
        """End every subscription (after the final event, or for a run that could not start)."""
        self.closed = True
        for send in [*self._subscribers, *self._watchers]:
            send.close()
        self._subscribers.clear()
        self._watchers.clear()

    def subscribe(self) -> AsyncGenerator[Event, None]:
        return self._follow(self._subscribers)

    def watch(self) -> AsyncGenerator[Event | NodeText, None]:
        """Like ``subscribe``, plus the streaming text of nodes (``NodeText``) as it arrives."""
        return self._follow(self._watchers)

    async def _follow(self, followers: list[Any]) -> AsyncGenerator[Any, None]:
        send, receive = anyio.create_memory_object_stream[Any](math.inf)
        for event in self.events:
            send.send_nowait(event)
        if self.closed:
            send.close()
        else:
            followers.append(send)
        try:
            with receive:
                async for item in receive:
                    yield item
        finally:  # a follower that stops early (a closed page) leaves no open stream behind
            send.close()
            if send in followers:
                followers.remove(send)


def _send_all(followers: list[Any], item: Event | NodeText) -> None:
    for send in list(followers):
        try:
            send.send_nowait(item)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):  # its reader is gone
            send.close()
            followers.remove(send)


async def replay(sink: EventSink, events: Sequence[Event]) -> None:
    """Hand ``sink`` the events a resumed run already has: its ``replay`` when it is a
    ``ports.ReplaySink``, else each event published."""
    if isinstance(sink, ReplaySink):
        await sink.replay(events)
        return
    for event in events:
        await sink.publish(event)
