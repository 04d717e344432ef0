"""Review nodes through a workspace, on SQLite and in memory: a decision continues the run (in
another process too, on SQLite), and of a decision and its timeout exactly one takes effect."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest

import graphflow
from graphflow.clock import FakeClock
from graphflow.errors import WakeRefused
from graphflow.memory import MemoryStore
from graphflow.service import Workspace
from graphflow.waits import Wake, review_item_id
from storage import open_store

pytestmark = pytest.mark.anyio
HOUR = 3600.0


def review_graph(**config: Any) -> dict[str, Any]:
    nodes = [{"id": "in", "kind": "input", "config": {"name": "x", "type": "any"}},
             {"id": "r", "kind": "review", "config": config},
             {"id": "y", "kind": "output", "config": {"name": "y"}},
             {"id": "esc", "kind": "output", "config": {"name": "escalated"}},
             {"id": "rej", "kind": "output", "config": {"name": "rejected"}}]
    wires = [("in", "out", "r"), ("r", "out", "y"), ("r", "escalated", "esc"), ("r", "rejected", "rej")]
    edges = [{"id": f"e{i}", "source": a, "source_port": port, "target": b, "target_port": "in"}
             for i, (a, port, b) in enumerate(wires)]
    return {"schema_version": 1, "id": "reply", "nodes": nodes, "edges": edges}


REPLY = {"text": "We will refund you.", "confidence": 0.5}
REVIEW = review_graph(threshold=0.85, proposal_field="text", timeout=HOUR)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["memory", "sqlite"])
async def ws(request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock) -> AsyncIterator[Workspace]:
    registry = graphflow.default_registry(installed=False)
    if request.param == "memory":
        yield Workspace(MemoryStore(clock=clock), registry, clock=clock)
    else:
        async with open_store(tmp_path / "r.db", clock=clock) as store:
            yield Workspace(store, registry, clock=clock)


async def test_a_confident_reply_runs_straight_through(tmp_path: Path) -> None:
    async with open_store(tmp_path / "r.db") as store:
        ws = Workspace(store, graphflow.default_registry(installed=False))
        result = await ws.run(await ws.save(REVIEW), {"x": {**REPLY, "confidence": 0.95}})
        assert result.status == "succeeded" and result.outputs == {"y": "We will refund you."}
        assert await ws.reviews() == []


async def test_a_waiting_review_survives_a_restart_and_a_decision_there_continues_it(tmp_path: Path) -> None:
    clock = FakeClock()
    registry = graphflow.default_registry(installed=False)
    async with open_store(tmp_path / "r.db", clock=clock) as store:
        ws = Workspace(store, registry, clock=clock)
        first = await ws.run(await ws.save(REVIEW), {"x": REPLY})
    assert first.status == "waiting"
    clock.advance(60)
    async with open_store(tmp_path / "r.db", clock=clock) as store:  # "another process"
        ws = Workspace(store, registry, clock=clock)
        (item,) = await ws.reviews(graph_id="reply", reason="low_confidence")
        assert item.id == review_item_id(first.run_id, "r") and item.detail["proposal"] == REPLY["text"]
        decided = await ws.decide(item.id, {"decision": "edit", "value": "Refund sent today."}, by="ana")
        assert decided.result is not None and decided.result.status == "succeeded"
        assert decided.result.outputs == {"y": "Refund sent today."}
        assert (decided.item.status, decided.item.decided_by, decided.item.decided_at) == ("edited", "ana",
                                                                                         clock.time())
        with pytest.raises(WakeRefused, match="already decided"):
            await ws.decide(item.id, {"decision": "approve"}, by="bo")
        assert (await ws.run_summary(first.run_id)).status == "succeeded"
        assert await ws.reviews() == []


async def test_a_decision_that_does_not_fit_changes_nothing(ws: Workspace) -> None:
    first = await ws.run(await ws.save(review_graph(variant="approval")), {"x": "ship it?"})
    item_id = review_item_id(first.run_id, "r")
    with pytest.raises(ValueError, match="approval review takes approve, reject"):
        await ws.decide(item_id, {"decision": "edit", "value": "x"}, by="ana")
    assert (await ws.review_item(item_id)).status == "pending"
    assert [w.wake for w in await ws.waits(first.run_id)] == [None]
    assert (await ws.run_summary(first.run_id)).status == "waiting"


async def test_a_timeout_escalates_and_a_late_decision_is_refused(ws: Workspace, clock: FakeClock) -> None:
    first = await ws.run(await ws.save(REVIEW), {"x": REPLY})
    clock.advance(HOUR)
    (done,) = await ws.wake_due()
    assert done.outputs == {"escalated": {"proposal": REPLY["text"], "context": REPLY, "reason": "timeout"}}
    item = await ws.review_item(review_item_id(first.run_id, "r"))
    assert (item.status, item.decided_by) == ("timed_out", "timer")
    with pytest.raises(WakeRefused, match="timed out"):
        await ws.decide(item.id, {"decision": "approve"}, by="ana")


async def test_an_item_is_listed_decided_once_and_its_label_kept(ws: Workspace, clock: FakeClock) -> None:
    graph = review_graph(variant="label", labels=["spam", "ham"], reason="triage")
    first = await ws.run(await ws.save(graph), {"x": "win a prize"})
    assert first.status == "waiting"
    (item,) = await ws.reviews(graph_id="reply", reason="triage")
    assert (item.id, item.status, item.detail["proposal"]) == (review_item_id(first.run_id, "r"), "pending",
                                                              "win a prize")
    clock.advance(5)
    decided = await ws.decide(item.id, {"decision": "label", "label": "spam"}, by="ana")
    assert decided.result is not None and decided.result.outputs == {"y": "spam"}
    assert (decided.item.status, decided.item.label, decided.item.decided_at) == ("labelled", "spam", clock.time())
    assert [i.label for i in await ws.labelled("reply")] == ["spam"]
    with pytest.raises(WakeRefused, match="already decided \\(labelled by ana\\)"):
        await ws.decide(item.id, {"decision": "label", "label": "ham"}, by="bo")
    assert await ws.reviews() == []


async def test_a_hundred_decision_and_timeout_races_each_take_effect_once(tmp_path: Path) -> None:
    clock = FakeClock()
    registry = graphflow.default_registry(installed=False)
    async with open_store(tmp_path / "race.db", clock=clock) as one, \
            open_store(tmp_path / "race.db", clock=clock) as two:
        reviewer, timer = Workspace(one, registry, clock=clock), Workspace(two, registry, clock=clock)
        graph_id = (await reviewer.save(REVIEW)).graph_id
        runs = [(await reviewer.run(graph_id, {"x": REPLY})).run_id for _ in range(100)]
        clock.advance(HOUR)  # every review is due: each decision races its timeout
        decided: set[str] = set()
        refused: set[str] = set()

        async def decide(run_id: str, head_start: float) -> None:
            await anyio.sleep(head_start)
            try:
                await reviewer.decide(review_item_id(run_id, "r"), {"decision": "approve"}, by="ana", go_on=False)
                decided.add(run_id)
            except WakeRefused:
                refused.add(run_id)

        async def time_out(run_id: str, head_start: float) -> None:
            await anyio.sleep(head_start)  # spreads the winners; what is checked holds for any order
            await timer.store.claim_wake(run_id, "r", Wake("timer", clock.time(), by="timer"))  # as fire_timers

        for i, run_id in enumerate(runs):  # each race between two processes (stores)
            async with anyio.create_task_group() as tg:
                tg.start_soon(decide, run_id, (i % 2) * 0.003)
                tg.start_soon(time_out, run_id, (i % 3) * 0.003)
        while await reviewer.wake_due():
            pass
        assert decided.isdisjoint(refused) and len(decided | refused) == 100
        for run_id in runs:
            summary = await reviewer.run_summary(run_id)
            item = await reviewer.review_item(review_item_id(run_id, "r"))
            assert summary.status == "succeeded"
            if run_id in decided:
                assert summary.outputs == {"y": REPLY["text"]} and item.status == "approved"
            else:
                assert "escalated" in summary.outputs and item.status == "timed_out"
            kinds = [e.kind for e in await reviewer.events(run_id)]
            assert kinds.count("run_finished") == 1 and kinds.count("node_succeeded") == 3
        print(f"decisions won {len(decided)}, timeouts won {len(refused)}")  # noqa: T201
