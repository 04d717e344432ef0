"""The replay player (pure): cursor moves, state rebuilt from snapshots, playback speed, canvas views."""

from __future__ import annotations

import math
from typing import Any

import pytest

import graphflow
from graphflow import events as ev
from graphflow.describe import describe
from graphflow.state import RunState
from graphflow.ui.canvas.events import node_views
from graphflow.ui.pages.replay_player import (
    MAX_EVENTS_PER_TICK,
    PACED_STEP,
    SPEEDS,
    Player,
    breaker_names,
    changes,
)

T0 = 1_700_000_000.0


def flaky_registry() -> graphflow.Registry:
    registry = graphflow.default_registry(installed=False)
    calls: dict[str, int] = {}

    def flaky(value: Any, ctx: Any) -> Any:
        calls[ctx.run_id] = calls.get(ctx.run_id, 0) + 1
        if ctx.attempt < 2:
            raise ConnectionError("first attempt fails")
        return value

    def boom(value: Any) -> Any:
        raise ValueError("no")

    registry.register_function("t.flaky", flaky)
    registry.register_function("t.boom", boom)
    return registry


GRAPH = {
    "schema_version": 1, "id": "g", "name": "G",
    "nodes": [
        {"id": "in", "kind": "input", "config": {"name": "x", "type": "integer"}},
        {"id": "flaky", "kind": "function", "config": {"function": "t.flaky"},
         "retry": {"max_attempts": 3, "base_delay": 0.0, "max_delay": 0.0}},
        {"id": "route", "kind": "router", "config": {"routes": [{"port": "big", "when": "value > 10"}],
                                                     "default": "small"}},
        {"id": "boom", "kind": "function", "config": {"function": "t.boom"},
         "breaker": {"name": "svc", "failure_threshold": 1}},
        {"id": "small", "kind": "output", "config": {"name": "small"}},
        {"id": "big", "kind": "output", "config": {"name": "big"}},
    ],
    "edges": [
        {"id": "e1", "source": "in", "target": "flaky"},
        {"id": "e2", "source": "flaky", "target": "route"},
        {"id": "e3", "source": "route", "source_port": "big", "target": "boom"},
        {"id": "e4", "source": "boom", "target": "big"},
        {"id": "e5", "source": "route", "source_port": "small", "target": "small"},
    ],
}


def run_events(x: int) -> list[ev.Event]:
    result = graphflow.run_sync(GRAPH, {"x": x}, registry=flaky_registry())
    return list(result.events)


def synthetic(n: int, gap: float = 0.1) -> list[ev.Event]:
    """A run of ``n`` events: start, node started/succeeded pairs, finish; ``gap`` seconds apart."""
    nodes = [f"n{i}" for i in range((n - 2) // 2)]
    events: list[ev.Event] = [ev.RunStarted(run_id="r", seq=0, at=T0, graph_id="g", node_ids=nodes)]
    for node in nodes:
        seq = len(events)
        events.append(ev.NodeStarted(run_id="r", seq=seq, at=T0 + seq * gap, node_id=node))
        events.append(ev.NodeSucceeded(run_id="r", seq=seq + 1, at=T0 + (seq + 1) * gap, node_id=node,
                                       output={"out": seq}))
    events.append(ev.RunFinished(run_id="r", seq=len(events), at=T0 + len(events) * gap, status="succeeded"))
    return events


def same(a: RunState, b: RunState) -> bool:
    return a == b


def test_state_at_equals_rebuilding_from_the_prefix():
    events = run_events(3)
    player = Player(events, snapshot_every=3)
    for i in range(-1, len(events)):
        assert same(player.state_at(i), RunState.from_events(events[:i + 1])), i
    for i in reversed(range(-1, len(events))):  # again, now from the snapshots
        assert same(player.state_at(i), RunState.from_events(events[:i + 1])), i


def test_seek_step_and_jumps_keep_state_and_cursor_in_line():
    events = run_events(30)
    player = Player(events, snapshot_every=4)
    assert player.at_start and player.current is None and player.state == RunState()
    order = [5, 2, len(events) - 1, 0, 7, 7, -1, 3, 1000, -50]
    for index in order:
        state = player.seek(index)
        expected = max(-1, min(index, len(events) - 1))
        assert player.cursor == expected
        assert same(state, RunState.from_events(events[:expected + 1]))
    player.to_start()
    stepped = []
    while (event := player.step()) is not None:
        stepped.append(event)
        assert same(player.state, RunState.from_events(events[:player.cursor + 1]))
    assert stepped == events and player.at_end and player.step() is None
    assert player.to_end().status == "failed"
    assert player.to_start() == RunState()


def test_state_at_returns_copies_that_do_not_touch_the_player():
    events = run_events(3)
    player = Player(events, snapshot_every=2)
    player.to_end()
    assert player.state.status == "succeeded"
    copy = player.state_at(len(events) - 1)
    copy.nodes["flaky"].status = "changed"
    copy.outputs.clear()
    assert player.state.nodes["flaky"].status == "succeeded"
    assert same(player.state_at(len(events) - 1), RunState.from_events(events))


def test_snapshots_are_taken_every_n_events_and_match_the_log():
    events = synthetic(1002)
    player = Player(events, snapshot_every=200)
    player.seek(650)
    assert player.snapshot_indices == [0, 200, 400, 600]
    player.to_end()
    assert player.snapshot_indices == [0, 200, 400, 600, 800, 1000]
    for count in player.snapshot_indices:
        assert same(player._snapshots[count], RunState.from_events(events[:count]))
    # a scrub far back starts from the nearest snapshot: equal to a full rebuild
    assert same(player.seek(401), RunState.from_events(events[:402]))


def test_long_run_scrubbing_applies_at_most_one_snapshot_interval(monkeypatch):
    events = synthetic(5000)
    player = Player(events)
    player.to_end()
    applied = 0
    original = RunState.apply

    def counting(self: RunState, event: ev.Event) -> None:
        nonlocal applied
        applied += 1
        original(self, event)

    monkeypatch.setattr(RunState, "apply", counting)
    for index in (4321, 17, 2500, 3999, 1):
        applied = 0
        player.seek(index)
        assert applied < 200


def test_playback_follows_timestamps_scaled_by_speed():
    events = synthetic(12, gap=0.5)  # event i at i * 0.5 s
    player = Player(events)
    assert player.advance(0.0) == events[:1]  # the first event is due at once
    assert player.advance(0.4) == []
    assert player.advance(0.1) == events[1:2]  # 0.5 s
    player.speed = 2.0
    assert player.advance(0.5) == events[2:4]  # 1.0 s of run time
    player.speed = 10.0
    assert player.advance(0.1) == events[4:6]
    player.speed = math.inf
    assert player.advance(0.0) == events[6:]
    assert player.at_end and player.advance(1.0) == []


def test_speed_max_moves_a_fixed_number_of_events_per_tick():
    events = synthetic(100)
    player = Player(events, speed=math.inf)
    assert len(player.advance(0.0)) == MAX_EVENTS_PER_TICK
    assert len(player.advance(0.0)) == MAX_EVENTS_PER_TICK


def test_long_idle_gaps_are_shortened_and_seek_moves_the_clock():
    events = synthetic(6, gap=0.1)
    events[3] = events[3].model_copy(update={"at": events[3].at + 3600})  # a crash and a recovery an hour later
    events[4:] = [e.model_copy(update={"at": e.at + 3600}) for e in events[4:]]
    player = Player(events, max_gap=2.0)
    assert player.offsets[3] - player.offsets[2] == pytest.approx(2.0)
    assert player.offsets[4] - player.offsets[3] == pytest.approx(0.1, abs=1e-5)
    player.seek(2)
    assert player.position == pytest.approx(player.offsets[2])
    assert player.advance(1.95) == []
    assert player.advance(0.1) == events[3:4]


def test_bad_arguments_are_refused():
    player = Player(synthetic(6))
    with pytest.raises(ValueError, match="speed"):
        player.speed = 0
    with pytest.raises(ValueError, match="negative"):
        player.advance(-1)
    with pytest.raises(IndexError):
        player.state_at(6)
    with pytest.raises(ValueError):
        Player([], snapshot_every=0)
    empty = Player([])
    assert empty.at_end and empty.step() is None and empty.advance(1) == [] and empty.to_end() == RunState()


def test_canvas_view_of_a_failed_run():
    events = run_events(30)
    spec = graphflow.load_graph(GRAPH)
    state = RunState.from_events(events)
    by_node = breaker_names(spec)
    assert by_node == {"boom": "svc"}
    statuses = node_views(state, by_node, state.breakers_before)
    assert statuses["flaky"]["status"] == "succeeded" and statuses["flaky"]["attempts"] == 2
    assert statuses["boom"]["status"] == "failed" and "ValueError: no" in statuses["boom"]["error"]
    assert statuses["boom"]["breaker"] == "open"
    assert statuses["in"]["breaker"] is None
    edges = state.edge_states(spec.edges)
    assert edges["e1"] == "taken" and edges["e3"] == "taken" and edges["e5"] == "untaken"
    assert edges["e4"] == "untaken"  # boom failed, no error port


def test_breakers_before_their_first_change_show_the_state_they_changed_from():
    events = run_events(30)
    changed = [e for e in events if isinstance(e, ev.BreakerChanged)]
    assert changed, "boom's first failure opens its breaker (threshold 1)"
    first = events.index(changed[0])
    player = Player(events)
    spec = graphflow.load_graph(GRAPH)
    initial = RunState.from_events(events).breakers_before
    before = node_views(player.seek(first - 1), breaker_names(spec), initial)
    after = node_views(player.seek(first), breaker_names(spec), initial)
    assert before["boom"]["breaker"] == changed[0].from_state == "closed"
    assert after["boom"]["breaker"] == changed[0].to_state == "open"


def test_changes_sends_only_what_differs_and_clears_what_went():
    assert changes({"a": 1, "b": 2}, {"a": 1, "b": 3, "c": 4}) == {"b": 3, "c": 4}
    assert changes({"a": 1, "b": 2}, {"a": 1}) == {"b": None}
    assert changes({}, {}) == {}


def test_describe_is_one_line_per_event_kind():
    events = run_events(30)
    lines = [describe(e, events[0].at) for e in events]
    assert lines[0] == "+0.0 ms  run_started  graph g"
    assert any("node_retrying  flaky (attempt 1): ConnectionError: first attempt fails, retry in" in line
               for line in lines)
    assert any("breaker_changed  svc: closed -> open" in line for line in lines)
    assert "run_finished  failed at boom: ValueError: no in " in lines[-1]
    assert all("\n" not in line for line in lines)


def test_paced_playback_shows_one_event_per_step_whatever_the_timestamps():
    events = synthetic(10, gap=0.001)  # a run of 10 ms: at 1x it would be over in one tick
    player = Player(events)
    assert player.default_speed == "paced"
    player.speed = SPEEDS["paced"]
    assert player.advance(0.0) == []
    assert player.advance(PACED_STEP * 0.6) == []
    assert player.advance(PACED_STEP * 0.6) == events[:1]  # the remainder carries over
    assert player.advance(PACED_STEP * 2) == events[1:3]
    assert Player(synthetic(10, gap=1.0)).default_speed == "1x"  # slow enough to follow in real time
