"""A run nothing subscribes to keeps drafts and builds its events when they are first read:
the events read are the ones a subscriber would have been sent, and a wrong draft fails loudly
(never an event with a field dropped or null)."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

import graphflow
from graphflow import events as ev
from graphflow.runner import Runner


class Collect:
    def __init__(self) -> None:
        self.events: list[ev.Event] = []

    async def publish(self, event: ev.Event) -> None:
        self.events.append(event)


def compile_spec(spec: dict[str, Any]) -> graphflow.CompiledGraph:
    registry = graphflow.default_registry(installed=False)
    registry.register_function("t.double", lambda v: v * 2, non_blocking=True)
    registry.register_function("t.boom", boom, non_blocking=True)
    return graphflow.validate_graph(spec, registry)


def boom(v: Any) -> Any:
    raise ValueError(f"cannot take {v}")


def graph() -> graphflow.CompiledGraph:
    spec: dict[str, Any] = {
        "schema_version": 1, "id": "g", "name": "g",
        "nodes": [{"id": "in", "kind": "input", "config": {"name": "x", "type": "integer"}},
                  {"id": "d", "kind": "function", "config": {"function": "t.double"}},
                  {"id": "cond", "kind": "condition", "config": {"expression": "value > 5"}},
                  {"id": "out", "kind": "output", "config": {"name": "y"}}],
        "edges": [{"id": "a", "source": "in", "target": "d"}, {"id": "b", "source": "d", "target": "cond"},
                  {"id": "c", "source": "cond", "source_port": "true", "target": "out"}],
    }
    return compile_spec(spec)


@pytest.mark.anyio
async def test_events_built_on_read_equal_the_published_ones() -> None:
    compiled = graph()
    sink = Collect()
    published = await Runner(compiled, sinks=[sink]).run({"x": 4}, run_id="r1")
    drafted = await Runner(compiled).run({"x": 4}, run_id="r1")
    assert published.ok and drafted.ok and published.outputs == drafted.outputs
    assert published.events == sink.events  # a run with a subscriber keeps what it sent

    def shape(events: Any) -> list[dict[str, Any]]:  # kinds, fields and order; not the times
        return [{k: v for k, v in e.model_dump().items() if k not in ("at", "duration")} for e in events]
    assert shape(drafted.events) == shape(published.events) == shape(sink.events)
    assert [e.seq for e in drafted.events] == list(range(len(drafted.events)))
    assert drafted.events[-1].kind == "run_finished" and drafted.events[0].kind == "run_started"
    assert all(isinstance(e, ev.NodeSucceeded | ev.NodeStarted | ev.RunStarted | ev.RunFinished | ev.NodeSkipped)
               for e in drafted.events)
    for event in drafted.events:  # each is a valid event: it survives a JSON round trip
        assert ev.event_from_json(ev.event_to_json(event)) == event


def test_a_draft_with_a_wrong_name_fails_when_read() -> None:
    misspelt = ev.RunEvents("r")
    misspelt.draft(ev.NodeStarted, 0, 0.0, {"node_idd": "a"})
    with pytest.raises(TypeError, match="node_idd"):
        list(misspelt)
    missing = ev.RunEvents("r")
    missing.draft(ev.NodeFailed, 0, 0.0, {"node_id": "a", "error_type": "X"})
    with pytest.raises(TypeError, match="error_message"):
        missing[0]


def test_events_and_drafts_mixed_read_as_a_list() -> None:
    first = ev.stamp_event(ev.NodeStarted, "r", 0, 1.0, {"node_id": "a"})
    events = ev.RunEvents("r", [first])
    events.draft(ev.NodeSkipped, 1, 2.0, {"node_id": "b", "reason": "why"})
    assert len(events) == 2
    assert events[1] == ev.NodeSkipped(run_id="r", seq=1, at=2.0, node_id="b", reason="why")
    assert events[:1] == [first] and events.index(first) == 0
    assert events == [first, events[1]] and [first, events[1]] == events
    events.draft(ev.NodeStarted, 2, 3.0, {"node_id": "c"})  # a draft after a read is built too
    assert [e.kind for e in events] == ["node_started", "node_skipped", "node_started"]


def fan_in_graph() -> graphflow.CompiledGraph:
    """A batch of inline branches, one failing, into a best-effort join: a node failure, a join
    that waits (its running then its success) and several transitions noted at once."""
    branches = [("b1", "t.double"), ("b2", "t.boom"), ("b3", "t.double")]
    spec: dict[str, Any] = {
        "schema_version": 1, "id": "fan", "name": "fan",
        "nodes": [{"id": "in", "kind": "input", "config": {"name": "x", "type": "integer"}},
                  *({"id": b, "kind": "function", "config": {"function": f}} for b, f in branches),
                  {"id": "j", "kind": "join", "config": {"strategy": "best_effort"}},
                  {"id": "out", "kind": "output", "config": {"name": "y"}}],
        "edges": [*({"id": f"i{b}", "source": "in", "target": b} for b, _ in branches),
                  *({"id": f"o{b}", "source": b, "target": "j"} for b, _ in branches),
                  {"id": "jo", "source": "j", "target": "out"}],
    }
    return compile_spec(spec)


@pytest.mark.anyio
async def test_a_batch_of_drafts_reads_as_the_events_a_subscriber_gets() -> None:
    compiled = fan_in_graph()
    sink = Collect()
    published = await Runner(compiled, sinks=[sink]).run({"x": 4}, run_id="r2")
    drafted = await Runner(compiled).run({"x": 4}, run_id="r2")
    assert drafted.ok and drafted.outputs == published.outputs
    assert drafted.outputs["y"]["results"] == {"b1": 8, "b3": 8}
    assert len(drafted.events) == len(sink.events)  # counted before anything is built

    def shape(events: Any) -> list[dict[str, Any]]:
        return [{k: v for k, v in e.model_dump().items() if k not in ("at", "duration")} for e in events]
    assert shape(drafted.events) == shape(sink.events)
    failed = next(e for e in drafted.events if isinstance(e, ev.NodeFailed))
    assert failed.node_id == "b2" and failed.input_preview == "4" and "cannot take 4" in failed.error_message
    kinds = [(e.kind, getattr(e, "node_id", None)) for e in drafted.events]
    assert kinds.index(("node_started", "j")) < kinds.index(("node_succeeded", "j"))
    assert [e.seq for e in drafted.events] == list(range(len(drafted.events)))


def test_a_batch_draft_counts_as_its_events_and_builds_them_in_order() -> None:
    def later(names: list[str]) -> list[tuple[type[ev._EventBase], dict[str, Any]]]:
        return [(ev.NodeSkipped, {"node_id": n, "reason": "r"}) for n in names]

    events = ev.RunEvents("r", later=later)
    events.draft(ev.NodeStarted, 0, 1.0, {"node_id": "a"})
    events.draft_batch(1, 2.0, 3, (["b", "c", "d"],))
    events.draft(ev.NodeStarted, 4, 3.0, {"node_id": "e"})
    assert len(events) == 5
    assert [(e.seq, getattr(e, "node_id", None), e.at) for e in events] == [
        (0, "a", 1.0), (1, "b", 2.0), (2, "c", 2.0), (3, "d", 2.0), (4, "e", 3.0)]


@pytest.mark.anyio
async def test_a_wide_batch_begins_before_its_node_started_events_are_sent() -> None:
    """A subscriber is sent each NodeStarted once every node of its batch has begun (the last of
    50 sleeps does not wait for 49 events to be sent first), still before the node's outcome."""
    begun: list[str] = []
    seen_begun: list[int] = []

    async def sleepy(value: Any) -> Any:
        begun.append("x")
        await anyio.sleep(0.01)
        return value

    class Watch(Collect):
        async def publish(self, event: ev.Event) -> None:
            if isinstance(event, ev.NodeStarted) and event.node_id != "join":
                seen_begun.append(len(begun))
            await super().publish(event)

    registry = graphflow.default_registry(installed=False)
    registry.register_function("t.sleepy", sleepy)
    names = [f"s{i}" for i in range(5)]
    spec: dict[str, Any] = {
        "schema_version": 1, "id": "wide", "name": "wide",
        "nodes": [{"id": "in", "kind": "input", "config": {"name": "x", "type": "integer"}},
                  *({"id": n, "kind": "function", "config": {"function": "t.sleepy"}} for n in names),
                  {"id": "join", "kind": "join", "config": {"strategy": "all"}}],
        "edges": [*({"id": f"a{n}", "source": "in", "target": n} for n in names),
                  *({"id": f"b{n}", "source": n, "target": "join"} for n in names)],
    }
    sink = Watch()
    result = await Runner(graphflow.validate_graph(spec, registry), sinks=[sink]).run({"x": 1})
    assert result.ok
    assert seen_begun == [5] * 5
    assert [e.seq for e in sink.events] == list(range(len(sink.events)))
    for name in names:  # each node's start still comes before its outcome
        kinds = [e.kind for e in sink.events if getattr(e, "node_id", None) == name]
        assert kinds == ["node_started", "node_succeeded"]
