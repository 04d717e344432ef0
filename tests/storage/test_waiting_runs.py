"""Waiting runs through a workspace, on both stores: a run waits holding nothing, an event or a
timer continues it exactly once, in whichever process (store) holds the run then."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import pytest

import graphflow
from graphflow.clock import FakeClock
from graphflow.memory import MemoryStore
from graphflow.service import RunRefused, Workspace
from graphflow.waits import Wake
from storage import open_store

pytestmark = pytest.mark.anyio

HOUR = 3600.0


def node(node_id: str, kind: str, **config: Any) -> dict[str, Any]:
    return {"id": node_id, "kind": kind, "config": config}


def edge(source: str, target: str, target_port: str = "in") -> dict[str, Any]:
    return {"id": f"{source}-{target}.{target_port}", "source": source, "target": target, "target_port": target_port}


def spec(*nodes: dict[str, Any], edges: list[dict[str, Any]], graph_id: str = "g") -> dict[str, Any]:
    return {"schema_version": 1, "id": graph_id, "name": graph_id, "nodes": list(nodes), "edges": edges}


APPROVAL = spec(node("in", "input", name="x", type="integer"),
                node("wait", "wait_event", event="approved", timeout=HOUR, on_timeout="continue",
                     timeout_value="timed out"),
                node("out", "output", name="y"),
                edges=[edge("in", "wait"), edge("wait", "out")], graph_id="approval")
TIMER = spec(node("in", "input", name="x", type="integer"), node("wait", "delay", seconds=HOUR),
             node("out", "output", name="y"), edges=[edge("in", "wait"), edge("wait", "out")], graph_id="timer")
TWO = spec(node("a", "wait_event", event="a"), node("b", "wait_event", event="b"),
           node("j", "join", strategy="all"), node("out", "output", name="y"),
           edges=[edge("a", "j", "in"), edge("b", "j", "in"), edge("j", "out")], graph_id="two")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["memory", "sqlite"])
async def workspace(request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock) -> AsyncIterator[Workspace]:
    registry = graphflow.default_registry(installed=False)
    if request.param == "memory":
        yield Workspace(MemoryStore(clock=clock), registry, clock=clock)
    else:
        async with open_store(tmp_path / "waits.db", clock=clock) as store:
            yield Workspace(store, registry, clock=clock)


async def saved(ws: Workspace, source: dict[str, Any]) -> str:
    return (await ws.save(source)).graph_id


async def test_a_run_waits_for_an_event_and_the_event_continues_it(workspace: Workspace) -> None:
    first = await workspace.run(await saved(workspace, APPROVAL), {"x": 1})
    assert first.status == "waiting"
    assert (await workspace.run_summary(first.run_id)).status == "waiting"
    [row] = await workspace.waits(first.run_id)
    assert (row.node_id, row.kind, row.key, row.wake) == ("wait", "event", "approved", None)
    assert workspace.running() == []  # nothing held while it waits

    sent = await workspace.send(first.run_id, "approved", {"ok": True}, by="ana")
    assert sent.node_id == "wait" and sent.result is not None
    assert sent.result.status == "succeeded" and sent.result.outputs == {"y": {"ok": True}}
    assert (await workspace.run_summary(first.run_id)).status == "succeeded"
    assert await workspace.waits(first.run_id) == []
    with pytest.raises(RunRefused, match="succeeded"):
        await workspace.send(first.run_id, "approved")


async def test_an_event_the_run_does_not_take_is_refused_and_changes_nothing(workspace: Workspace) -> None:
    first = await workspace.run(await saved(workspace, APPROVAL), {"x": 1})
    before = (await workspace.events(first.run_id), await workspace.waits(first.run_id))
    with pytest.raises(RunRefused, match="does not take event 'rejected'.*'approved'"):
        await workspace.send(first.run_id, "rejected")
    assert (await workspace.events(first.run_id), await workspace.waits(first.run_id)) == before


async def test_a_timeout_wakes_the_wait_once_and_a_late_event_is_refused(workspace: Workspace,
                                                                         clock: FakeClock) -> None:
    first = await workspace.run(await saved(workspace, APPROVAL), {"x": 1})
    assert await workspace.fire_timers() == []  # not due yet
    clock.advance(HOUR)
    [result] = await workspace.wake_due()
    assert result.status == "succeeded" and result.outputs == {"y": "timed out"}
    assert await workspace.wake_due() == []
    with pytest.raises(RunRefused):
        await workspace.send(first.run_id, "approved")


async def test_an_event_after_the_deadline_takes_the_timeout_even_before_its_timer_fired(
        workspace: Workspace, clock: FakeClock) -> None:
    first = await workspace.run(await saved(workspace, APPROVAL), {"x": 1})
    clock.advance(HOUR + 5)  # nobody fired the timer yet
    with pytest.raises(RunRefused, match="timed out at .* its timeout was taken"):
        await workspace.send(first.run_id, "approved", "too late")
    summary = await workspace.run_summary(first.run_id)
    assert summary.status == "succeeded" and summary.outputs == {"y": "timed out"}


async def test_a_long_delay_is_a_durable_timer(workspace: Workspace, clock: FakeClock) -> None:
    first = await workspace.run(await saved(workspace, TIMER), {"x": 5})
    assert first.status == "waiting"
    clock.advance(HOUR - 1)
    assert await workspace.wake_due() == []
    clock.advance(1)
    [result] = await workspace.wake_due()
    assert result.outputs == {"y": 5}
    kinds = [e.kind for e in await workspace.events(first.run_id)]
    assert kinds.count("run_waiting") == 1 and kinds.count("run_finished") == 1


async def test_two_waiting_nodes_each_woken_once(workspace: Workspace) -> None:
    first = await workspace.run(await saved(workspace, TWO))
    assert {w.node_id for w in await workspace.waits(first.run_id)} == {"a", "b"}
    sent = await workspace.send(first.run_id, "a", 1)
    assert sent.result is not None and sent.result.status == "waiting"  # b still waits
    [row] = await workspace.waits(first.run_id)
    assert row.node_id == "b"
    with pytest.raises(RunRefused, match="does not take event 'a'"):
        await workspace.send(first.run_id, "a", 2)
    done = await workspace.send(first.run_id, "b", 3)
    assert done.result is not None and done.result.status == "succeeded"
    succeeded = [e.node_id for e in await workspace.events(first.run_id) if e.kind == "node_succeeded"]
    assert sorted(n for n in succeeded if n in ("a", "b")) == ["a", "b"]


async def test_a_wake_claimed_while_the_run_goes_on_is_not_lost(workspace: Workspace) -> None:
    """Both nodes woken before the run continues: one continuation takes both wakes."""
    first = await workspace.run(await saved(workspace, TWO))
    await workspace.send(first.run_id, "a", 1, go_on=False)
    await workspace.send(first.run_id, "b", 2, go_on=False)
    result = await workspace.continue_run(first.run_id)
    assert result is not None and result.status == "succeeded"


async def test_a_waiting_run_continues_in_another_process_after_a_restart(tmp_path: Path, clock: FakeClock) -> None:
    registry = graphflow.default_registry(installed=False)
    async with open_store(tmp_path / "restart.db", clock=clock) as store:
        first = await Workspace(store, registry, clock=clock).run(
            await Workspace(store, registry, clock=clock).save(APPROVAL), {"x": 1})
    assert first.status == "waiting"
    async with open_store(tmp_path / "restart.db", clock=clock) as store:  # "another process"
        ws = Workspace(store, registry, clock=clock)
        assert [s.run_id for s in await ws.recoverable()] == []  # waiting is not a crashed run
        sent = await ws.send(first.run_id, "approved", "yes", by="cli")
        assert sent.result is not None and sent.result.outputs == {"y": "yes"}


async def test_a_timer_that_fell_due_while_down_fires_once_after_restart(tmp_path: Path, clock: FakeClock) -> None:
    registry = graphflow.default_registry(installed=False)
    async with open_store(tmp_path / "down.db", clock=clock) as store:
        ws = Workspace(store, registry, clock=clock)
        first = await ws.run(await ws.save(TIMER), {"x": 2})
    clock.advance(10 * HOUR)  # the server was down when it fell due
    async with open_store(tmp_path / "down.db", clock=clock) as one, \
            open_store(tmp_path / "down.db", clock=clock) as two:
        a, b = Workspace(one, registry, clock=clock), Workspace(two, registry, clock=clock)
        results: list[Any] = []

        async def wake(ws: Workspace) -> None:
            results.extend(await ws.wake_due())

        async with anyio.create_task_group() as tg:
            tg.start_soon(wake, a)
            tg.start_soon(wake, b)
        assert [r.run_id for r in results] == [first.run_id]
        kinds = [e.kind for e in await a.events(first.run_id)]
        assert kinds.count("run_finished") == 1 and kinds.count("run_resumed") == 1


async def test_a_hundred_event_and_timeout_races_each_take_effect_once(tmp_path: Path, clock: FakeClock) -> None:
    registry = graphflow.default_registry(installed=False)
    late = FakeClock(start=clock.monotonic(), wall_start=clock.time())
    async with open_store(tmp_path / "race.db", clock=clock) as one, \
            open_store(tmp_path / "race.db", clock=late) as two:
        sender, timer = Workspace(one, registry, clock=clock), Workspace(two, registry, clock=late)
        graph_id = await saved(sender, APPROVAL)
        runs = [(await sender.run(graph_id, {"x": i})).run_id for i in range(100)]
        # each event comes just in time by its sender's clock, as the timer process's clock says it is due
        clock.advance(HOUR - 0.001)
        late.advance(HOUR)
        sent: list[str] = []

        async def send(run_id: str) -> None:
            try:
                await sender.send(run_id, "approved", "event", go_on=False)
                sent.append(run_id)
            except RunRefused:
                pass

        async def time_out(run_id: str, head_start: float) -> None:
            await anyio.sleep(head_start)  # spreads the winners; what is checked holds for any order
            await timer.store.claim_wake(run_id, "wait", Wake("timer", late.time(), by="timer"))

        for i, run_id in enumerate(runs):  # each race between two processes (stores)
            async with anyio.create_task_group() as tg:
                tg.start_soon(send, run_id)
                tg.start_soon(time_out, run_id, (i % 4) * 0.0005)
        while await sender.wake_due():
            pass
        outcomes: dict[str, int] = {}
        for run_id in runs:
            summary = await sender.run_summary(run_id)
            assert summary.status == "succeeded"
            expected = "event" if run_id in sent else "timed out"
            assert summary.outputs == {"y": expected}
            outcomes[expected] = outcomes.get(expected, 0) + 1
            kinds = [e.kind for e in await sender.events(run_id)]
            assert kinds.count("node_succeeded") == 3 and kinds.count("run_finished") == 1
        assert sum(outcomes.values()) == 100


async def test_an_event_log_following_a_continued_run_sees_it_to_its_end(workspace: Workspace) -> None:
    first = await workspace.run(await saved(workspace, TWO))
    await workspace.send(first.run_id, "a", go_on=False)
    seen: list[str] = []
    log = graphflow.EventLog()

    async def follow() -> None:
        seen.extend([event.kind async for event in log.subscribe()])

    async with anyio.create_task_group() as tg:
        tg.start_soon(follow)
        await anyio.lowlevel.checkpoint()
        waiting = await workspace.continue_run(first.run_id, sinks=[log])  # waits again, for b
        assert waiting is not None and waiting.status == "waiting" and log.closed
    assert seen.count("run_waiting") == 2 and seen[-1] == "run_waiting"  # the replayed one did not end it
    assert [e.seq for e in log.events] == list(range(len(log.events)))  # each event once
    log = graphflow.EventLog()
    await workspace.send(first.run_id, "b", go_on=False)
    done = await workspace.continue_run(first.run_id, sinks=[log])
    assert done is not None and done.status == "succeeded"
    assert [e.kind for e in log.events][-1] == "run_finished" and [e.seq for e in log.events] == list(
        range(len(log.events)))
