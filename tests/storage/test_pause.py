"""Operator pause and resume: the nodes in flight finish, nothing new starts, the run waits
(status waiting, paused) holding nothing, and resuming continues it, in this process or another."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest

import graphflow
from graphflow.clock import FakeClock
from graphflow.memory import MemoryStore
from graphflow.service import RunRefused, Workspace
from graphflow.waits import PAUSED
from storage import open_store

pytestmark = pytest.mark.anyio

CHAIN = {"schema_version": 1, "id": "chain", "nodes": [
    {"id": "first", "kind": "function", "config": {"function": "gate"}},
    {"id": "second", "kind": "function", "config": {"function": "plus_one"}},
    {"id": "out", "kind": "output", "config": {"name": "y"}}],
    "edges": [{"id": "a", "source": "first", "target": "second"}, {"id": "b", "source": "second", "target": "out"}]}


class Gate:
    def __init__(self) -> None:
        self.entered, self.release = anyio.Event(), anyio.Event()



def registry(gate: Gate) -> graphflow.Registry:
    async def through_gate(value: Any) -> int:
        gate.entered.set()
        await gate.release.wait()
        return 1

    reg = graphflow.default_registry(installed=False)
    reg.register_function("gate", through_gate)
    reg.register_function("plus_one", lambda value: value + 1, non_blocking=True)
    return reg


async def started_kinds(ws: Workspace, run_id: str) -> list[str]:
    return [f"{e.kind}:{getattr(e, 'node_id', '')}" for e in await ws.events(run_id) if e.kind == "node_started"]


async def node_kinds(ws: Workspace, run_id: str, node_id: str) -> list[str]:
    return [e.kind for e in await ws.events(run_id) if getattr(e, "node_id", None) == node_id]


async def test_a_paused_run_finishes_what_runs_starts_nothing_and_resumes() -> None:
    gate = Gate()
    ws = Workspace(MemoryStore(), registry(gate))
    graph = await ws.save(CHAIN)
    results: list[Any] = []
    async with anyio.create_task_group() as tg:
        tg.start_soon(lambda: _collect(results, ws.run(graph, run_id="r1")))
        await gate.entered.wait()
        assert await ws.pause("r1", "checking the data") == "pausing"
        gate.release.set()
    [paused] = results
    assert paused.status == "waiting"
    assert await started_kinds(ws, "r1") == ["node_started:first"]
    assert await node_kinds(ws, "r1", "second") == []  # second never started
    summary = await ws.run_summary("r1")
    assert summary.status == "waiting"
    [row] = await ws.waits("r1")
    assert (row.node_id, row.key, row.detail) == (PAUSED, "resume", {"paused": "checking the data"})
    assert row.waits_for() == "event 'resume' (paused: checking the data)"  # as refusals and listings say it
    with pytest.raises(RunRefused, match=r"refused event 'go'.*it takes: 'resume'"):
        await ws.send("r1", "go")
    with pytest.raises(RunRefused, match="only a running run"):
        await ws.pause("r1")

    resumed = await ws.resume("r1")
    assert resumed.status == "succeeded" and resumed.outputs == {"y": 2}
    # second is inline (non-blocking): it records only its outcome, no node_started
    assert await node_kinds(ws, "r1", "second") == ["node_succeeded"]
    assert await ws.waits("r1") == []


async def test_the_resume_event_continues_a_paused_run_too() -> None:
    gate = Gate()
    ws = Workspace(MemoryStore(), registry(gate))
    graph = await ws.save(CHAIN)
    control = graphflow.RunControl()
    control.pause("before it starts")  # asked before the run's loop began: nothing starts
    gate.release.set()
    result = await ws.run(graph, control=control, run_id="r2")
    assert result.status == "waiting" and await started_kinds(ws, "r2") == []
    sent = await ws.send("r2", "resume", by="ops")
    assert sent.result is not None and sent.result.outputs == {"y": 2}


async def test_a_pause_asked_from_another_process_reaches_the_run(tmp_path: Path) -> None:
    gate = Gate()
    clock = FakeClock()
    async with open_store(tmp_path / "pause.db") as one, open_store(tmp_path / "pause.db") as two:
        runner_ws = Workspace(one, registry(gate), clock=clock)
        other = Workspace(two, registry(gate))
        graph = await runner_ws.save(CHAIN)
        results: list[Any] = []
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: _collect(results, runner_ws.run(graph, run_id="r3")))
            await gate.entered.wait()
            assert "asked" in await other.pause("r3", "from the CLI")
            for _ in range(20):  # the runner's heartbeat looks for pauses every (fake) second
                clock.advance(1.0)
                await anyio.sleep(0.01)  # its store read is real I/O
            gate.release.set()
        [paused] = results
        assert paused.status == "waiting", paused
        resumed = await other.resume("r3")  # the other process continues it
        assert resumed.outputs == {"y": 2}


async def _collect(results: list[Any], work: Any) -> None:
    results.append(await work)

