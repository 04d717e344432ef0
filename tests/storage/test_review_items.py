"""Review items made from review nodes' waits, in the writer's transaction; decided once."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

import graphflow
from graphflow.clock import FakeClock
from graphflow.errors import WakeRefused
from graphflow.ports import NotFound
from graphflow.runner import Runner, RunResult
from graphflow.storage import open_store
from graphflow.storage.reviews import iter_jsonl
from graphflow.waits import Wake, review_item_id

pytestmark = pytest.mark.anyio

REPLY = {"label": "refund", "confidence": 0.6, "text": "We will refund you."}


def spec(graph_id: str = "support", **config: Any) -> dict[str, Any]:
    return {"schema_version": 1, "id": graph_id, "nodes": [
        {"id": "in", "kind": "input", "config": {"name": "x", "type": "any"}},
        {"id": "r", "kind": "review", "config": config},
        {"id": "y", "kind": "output", "config": {"name": "y"}}], "edges": [
        {"id": "e1", "source": "in", "source_port": "out", "target": "r", "target_port": "in"},
        {"id": "e2", "source": "r", "source_port": "out", "target": "y", "target_port": "in"}]}


def runner(store: Any, clock: FakeClock, graph_id: str = "support", **config: Any) -> Runner:
    compiled = graphflow.validate_graph(spec(graph_id, **config), graphflow.default_registry(installed=False))
    return Runner(compiled, sinks=[store], clock=clock, suspend=True)


def claims() -> Any:
    """A stand-in for the store's claim of a wake: the first claim per node wins."""
    won: set[tuple[str, str]] = set()

    def claim(conn: sqlite3.Connection, run_id: str, node_id: str, wake: Wake) -> bool:
        if (run_id, node_id) in won:
            return False
        won.add((run_id, node_id))
        return True

    claim.won = won  # type: ignore[attr-defined]
    return claim


async def test_a_waiting_review_node_makes_its_item(tmp_path: Path) -> None:
    clock = FakeClock()
    async with open_store(tmp_path / "g.db", clock=clock) as store:
        first = await runner(store, clock, threshold=0.85, proposal_field="text", timeout=600).run(
            {"x": REPLY}, run_id="run1")
        assert first.status == "waiting"
        (item,) = await store.review_items()
        assert item.id == review_item_id("run1", "r") and item.status == "pending"
        assert (item.graph_id, item.reason, item.confidence) == ("support", "low_confidence", 0.6)
        assert item.due_at == clock.time() + 600
        assert item.detail["proposal"] == "We will refund you." and item.detail["context"] == REPLY
        assert item.variant == "review" and item.labels == []
        clock.advance(100)  # resumed without a wake: it waits again, its item keeps its age
        again = await runner(store, clock, threshold=0.85, proposal_field="text", timeout=600).resume(
            await store.load_events("run1"))
        assert again.status == "waiting"
        assert await store.review_items() == [item]


async def test_a_decision_takes_effect_once(tmp_path: Path) -> None:
    clock = FakeClock()
    claim = claims()
    async with open_store(tmp_path / "g.db", clock=clock) as store:
        await runner(store, clock).run({"x": REPLY}, run_id="run1")
        item_id = review_item_id("run1", "r")
        with pytest.raises(ValueError, match="needs a reason"):
            await store.decide_with(claim, item_id, {"decision": "reject"}, "ana")
        assert (await store.get_review_item(item_id)).status == "pending" and not claim.won
        decided = await store.decide_with(claim, item_id, {"decision": "edit", "value": "Refund sent."}, "ana")
        assert (decided.status, decided.verdict, decided.decided_by) == ("edited", "edit", "ana")
        assert decided.edited_value == "Refund sent." and decided.decided_at == clock.time()
        assert decided.decision == {"decision": "edit", "reason": "", "value": "Refund sent."}
        with pytest.raises(WakeRefused, match=r"already decided \(edited by ana\)"):
            await store.decide_with(claim, item_id, {"decision": "approve"}, "bo")
        with pytest.raises(NotFound):
            await store.decide_with(claim, "nope", {"decision": "approve"}, "bo")
        assert await store.review_items() == []
        assert [i.id for i in await store.review_items(status="edited")] == [item_id]


async def test_a_decision_after_the_timeout_won_is_refused_and_marks_the_item(tmp_path: Path) -> None:
    clock = FakeClock()
    claim = claims()
    async with open_store(tmp_path / "g.db", clock=clock) as store:
        await runner(store, clock, timeout=60).run({"x": REPLY}, run_id="run1")
        claim.won.add(("run1", "r"))  # the timer claimed the wake first
        with pytest.raises(WakeRefused, match="timed out before this decision"):
            await store.decide_with(claim, review_item_id("run1", "r"), {"decision": "approve"}, "ana")
        item = await store.get_review_item(review_item_id("run1", "r"))
        assert (item.status, item.verdict, item.decided_by) == ("timed_out", "timeout", "timer")


async def test_the_run_ending_closes_its_pending_item(tmp_path: Path) -> None:
    clock = FakeClock()
    async with open_store(tmp_path / "g.db", clock=clock) as store:
        waiting = await runner(store, clock, timeout=60).run({"x": REPLY}, run_id="run1")
        done: RunResult = await runner(store, clock, timeout=60).resume(
            waiting.events, wakes={"r": Wake("timer", 60.0, by="timer")})
        assert done.status == "succeeded"
        (item,) = await store.review_items(status=None)
        assert item.status == "closed"


async def test_filters_by_graph_and_reason(tmp_path: Path) -> None:
    clock = FakeClock()
    async with open_store(tmp_path / "g.db", clock=clock) as store:
        await runner(store, clock, "a", threshold=0.9).run({"x": REPLY}, run_id="r1")
        await runner(store, clock, "a", review_when="amount > 5").run({"x": {"amount": 9}}, run_id="r2")
        await runner(store, clock, "b", threshold=0.9).run({"x": REPLY}, run_id="r3")
        ids = lambda items: sorted(i.run_id for i in items)  # noqa: E731
        assert ids(await store.review_items(graph_id="a")) == ["r1", "r2"]
        assert ids(await store.review_items(reason="low_confidence")) == ["r1", "r3"]
        assert ids(await store.review_items(graph_id="a", reason="high_value")) == ["r2"]
        assert await store.review_items(graph_id="c") == []


async def test_labels_are_stored_and_exported_as_jsonl(tmp_path: Path) -> None:
    clock = FakeClock()
    claim = claims()
    config: dict[str, Any] = {"variant": "label", "labels": ["refund", "billing"], "proposal_field": "label"}
    async with open_store(tmp_path / "g.db", clock=clock) as store:
        for run_id in ("r1", "r2", "r3"):
            await runner(store, clock, **config).run({"x": REPLY}, run_id=run_id)
        with pytest.raises(ValueError, match="not one of refund, billing"):
            await store.decide_with(claim, review_item_id("r1", "r"), {"decision": "label", "label": "spam"}, "a")
        await store.decide_with(claim, review_item_id("r1", "r"), {"decision": "label", "label": "billing"}, "ana")
        await store.decide_with(claim, review_item_id("r2", "r"), {"decision": "approve"}, "bo")
        await store.decide_with(claim, review_item_id("r3", "r"), {"decision": "reject", "reason": "spam"}, "bo")
        lines = [json.loads(line) for line in iter_jsonl(await store.labelled_items())]
        assert [(x["run_id"], x["label"], x["by"], x["proposal"]) for x in lines] == [
            ("r1", "billing", "ana", "refund"), ("r2", "refund", "bo", "refund")]
        assert lines[0]["input"] == REPLY and lines[0]["graph_id"] == "support"


async def test_a_version_8_database_keeps_its_review_items(tmp_path: Path) -> None:
    from old_schema import create_schema

    path = tmp_path / "v8.db"
    conn = sqlite3.connect(path, isolation_level=None)
    create_schema(conn, 8)
    conn.execute("INSERT INTO graphs VALUES ('g', '', 1, 1)")
    conn.execute("INSERT INTO runs (run_id, graph_id, status, started_at, last_seq) "
                 "VALUES ('r1', 'g', 'running', 1, 0)")
    conn.execute("INSERT INTO review_items (id, run_id, node_id, status, payload_json, created_at) "
                 "VALUES ('i1', 'r1', 'n', 'pending', '{\"q\": 1}', 5)")
    conn.execute("PRAGMA user_version = 8")
    conn.close()
    async with open_store(path) as store:
        (item,) = await store.review_items()
        assert (item.id, item.payload, item.reason, item.graph_id, item.label) == ("i1", {"q": 1}, "", "", None)
