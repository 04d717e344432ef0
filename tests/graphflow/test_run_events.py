"""A run nothing subscribes to keeps drafts and builds its events when they are first read:
the events read are the ones a subscriber would have been sent, and a wrong draft fails loudly
(never an event with a field dropped or null)."""

from __future__ import annotations

from typing import Any

import pytest

import graphflow
from graphflow import events as ev
from graphflow.runner import Runner


class Collect:
    def __init__(self) -> None:
        self.events: list[ev.Event] = []

    async def publish(self, event: ev.Event) -> None:
        self.events.append(event)


def graph() -> graphflow.CompiledGraph:
    registry = graphflow.default_registry(installed=False)
    registry.register_function("t.double", lambda v: v * 2, non_blocking=True)
    spec: dict[str, Any] = {
        "schema_version": 1, "id": "g", "name": "g",
        "nodes": [{"id": "in", "kind": "input", "config": {"name": "x", "type": "integer"}},
                  {"id": "d", "kind": "function", "config": {"function": "t.double"}},
                  {"id": "cond", "kind": "condition", "config": {"expression": "value > 5"}},
                  {"id": "out", "kind": "output", "config": {"name": "y"}}],
        "edges": [{"id": "a", "source": "in", "target": "d"}, {"id": "b", "source": "d", "target": "cond"},
                  {"id": "c", "source": "cond", "source_port": "true", "target": "out"}],
    }
    return graphflow.validate_graph(spec, registry)


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
