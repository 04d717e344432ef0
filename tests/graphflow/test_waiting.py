"""Waiting nodes in the engine: a long delay suspends a run that can wait, and continues once woken."""

from __future__ import annotations

import pytest
from graphs import edge, graph, node

import graphflow
from graphflow.clock import FakeClock
from graphflow.runner import Runner
from graphflow.state import RunState
from graphflow.waits import Wake

pytestmark = pytest.mark.anyio

SPEC = graph(node("in", "input", name="x", type="integer"), node("wait", "delay", seconds=3600),
             node("out", "output", name="y"), edge("in", "wait"), edge("wait", "out"))


async def test_a_long_delay_suspends_the_run_and_a_wake_continues_it() -> None:
    clock = FakeClock()
    compiled = graphflow.validate_graph(SPEC, graphflow.default_registry(installed=False))
    first = await Runner(compiled, clock=clock, suspend=True).run({"x": 7})
    assert first.status == "waiting" and first.waits[0]["kind"] == "timer"
    assert first.waits[0]["due_at"] == clock.time() + 3600
    assert RunState.from_events(first.events).status == "waiting"
    again = await Runner(compiled, clock=clock, suspend=True).resume(first.events)  # no wake: waits again
    assert again.status == "waiting" and again.waits == first.waits  # the due time did not move
    woken = await Runner(compiled, clock=clock, suspend=True).resume(
        again.events, wakes={"wait": Wake("timer", clock.time() + 3600, by="timer")})
    assert woken.status == "succeeded" and woken.outputs == {"y": 7}
    assert RunState.from_events(woken.events).ended
