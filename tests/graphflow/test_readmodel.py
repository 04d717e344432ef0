"""The read model's rules (graphflow/state.py): edge states, breakers, copies."""

from __future__ import annotations

from typing import Any

import graphflow
from graphflow import events as ev
from graphflow.events import NodeStatus
from graphflow.model import EdgeSpec
from graphflow.state import RunState


def boom(value: Any) -> Any:
    raise ValueError("no")


def registry() -> graphflow.Registry:
    reg = graphflow.default_registry(installed=False)
    reg.register_function("t.boom", boom, non_blocking=True)  # inline: fails before the stop node runs
    return reg


def edge(id: str, source: str, target: str, port: str = "out") -> EdgeSpec:
    return EdgeSpec(id=id, source=source, target=target, source_port=port)


def started(*nodes: str) -> ev.RunStarted:
    return ev.RunStarted(run_id="r", seq=0, at=0, graph_id="g", node_ids=list(nodes))


def test_an_error_edge_to_a_node_that_was_then_skipped_is_taken() -> None:
    """The bug: live drew it untaken (its target was skipped), replay taken. The runner now
    records the edge on node_failed, so both read it off the event."""
    graph = {"schema_version": 1, "id": "g", "nodes": [
        {"id": "a", "kind": "function", "config": {"function": "t.boom"}},
        {"id": "s", "kind": "stop", "config": {}},  # stops the run before c can run
        {"id": "c", "kind": "function", "config": {"function": "t.boom"}}],
        "edges": [{"id": "err", "source": "a", "source_port": "error", "target": "c"}]}
    result = graphflow.run_sync(graph, registry=registry())
    failed = next(e for e in result.events if isinstance(e, ev.NodeFailed))
    assert failed.edges_taken == ["err"]
    state = RunState.from_events(result.events)
    assert state.nodes["c"].status is NodeStatus.SKIPPED
    assert state.edge_states(graphflow.load_graph(graph).edges) == {"err": "taken"}


def test_edge_states_follow_the_settled_source() -> None:
    edges = [edge("ab", "a", "b"), edge("ac", "a", "c"), edge("bc", "b", "c", "error"), edge("bd", "b", "d"),
             edge("cd", "c", "d"), edge("de", "d", "e")]
    state = RunState()
    assert state.edge_states(edges) == dict.fromkeys(["ab", "ac", "bc", "bd", "cd", "de"])
    for event in [started("a", "b", "c", "d", "e"),
                  ev.NodeSucceeded(run_id="r", seq=1, at=0, node_id="a", edges_taken=["ab"]),
                  ev.NodeFailed(run_id="r", seq=2, at=0, node_id="b", error_type="E", error_message="m",
                                edges_taken=["bc"]),
                  ev.NodeStarted(run_id="r", seq=3, at=0, node_id="c"),
                  ev.NodeSkipped(run_id="r", seq=4, at=0, node_id="d", reason="no incoming branch was taken")]:
        state.apply(event)
    assert state.edge_states(edges) == {
        "ab": "taken", "ac": "untaken",  # a succeeded: its edges_taken, the rest not
        "bc": "taken", "bd": "untaken",  # b failed: the error edge it was routed down, the rest not
        "cd": None,  # c still runs
        "de": "untaken",  # d was skipped
    }


def test_a_failure_with_no_error_edge_takes_none_and_cancelled_takes_none() -> None:
    edges = [edge("ab", "a", "b"), edge("bc", "b", "c")]
    state = RunState.from_events([
        started("a", "b", "c"),
        ev.NodeFailed(run_id="r", seq=1, at=0, node_id="a", error_type="E", error_message="m"),
        ev.NodeCancelled(run_id="r", seq=2, at=0, node_id="b", reason="node 'a' failed"),
    ])
    assert state.edge_states(edges) == {"ab": "untaken", "bc": "untaken"}


def test_retries_keep_the_last_error_and_attempts() -> None:
    state = RunState.from_events([
        started("a"),
        ev.NodeStarted(run_id="r", seq=1, at=0, node_id="a"),
        ev.NodeRetrying(run_id="r", seq=2, at=0, node_id="a", attempt=1, delay=0.1, error_type="E",
                        error_message="first"),
        ev.NodeStarted(run_id="r", seq=3, at=0, node_id="a", attempt=2),
        ev.NodeFailed(run_id="r", seq=4, at=0, node_id="a", attempt=2, duration=0.2, error_type="E",
                      error_message="second"),
        ev.RunFinished(run_id="r", seq=5, at=1, status="failed", failed_node="a", error="E: second", duration=1.5),
    ])
    a = state.nodes["a"]
    assert (a.status, a.attempts, a.retries, a.error, a.duration) == (NodeStatus.FAILED, 2, 1, "E: second", 0.2)
    assert (state.status, state.ended, state.duration, state.failed_node) == ("failed", True, 1.5, "a")


def test_breaker_before_and_after_its_changes() -> None:
    state = RunState.from_events([
        started("a"),
        ev.BreakerChanged(run_id="r", seq=1, at=0, breaker="api", from_state="closed", to_state="open"),
        ev.BreakerChanged(run_id="r", seq=2, at=0, breaker="api", from_state="open", to_state="half_open"),
    ])
    assert state.breakers == {"api": "half_open"} and state.breakers_before == {"api": "closed"}
    assert state.breaker_state("api") == "half_open"
    assert RunState().breaker_state("api", {"api": "open"}) == "open"  # known from outside, no change yet
    assert RunState().breaker_state("api") is None


def test_a_copy_shares_nothing_apply_changes() -> None:
    state = RunState.from_events([started("a"), ev.NodeSucceeded(run_id="r", seq=1, at=0, node_id="a",
                                                                 edges_taken=["x"])])
    twin = state.copy()
    assert twin == state
    twin.apply(ev.RunFinished(run_id="r", seq=2, at=0, status="succeeded", outputs={"o": 1}))
    twin.nodes["a"].edges_taken.append("y")
    assert state.status == "running" and state.outputs == {} and state.nodes["a"].edges_taken == ["x"]


def test_a_join_that_succeeds_does_not_take_its_error_edge() -> None:
    """Found by the read-model property test: a join sent its result down every out-edge,
    its error port's included, so the error handler ran after a success."""
    graph = {"schema_version": 1, "id": "g", "nodes": [
        {"id": "a", "kind": "constant", "config": {"value": 1}},
        {"id": "j", "kind": "join", "config": {}},
        {"id": "ok", "kind": "output", "config": {"name": "ok"}},
        {"id": "handler", "kind": "output", "config": {"name": "handler"}}],
        "edges": [{"id": "aj", "source": "a", "target": "j"},
                  {"id": "jo", "source": "j", "target": "ok"},
                  {"id": "je", "source": "j", "source_port": "error", "target": "handler"}]}
    result = graphflow.run_sync(graph, registry=registry())
    state = RunState.from_events(result.events)
    assert state.nodes["j"].status is NodeStatus.SUCCEEDED
    assert state.edge_states(graphflow.load_graph(graph).edges) == {"aj": "taken", "jo": "taken", "je": "untaken"}
    assert state.nodes["handler"].status is NodeStatus.SKIPPED and "handler" not in result.outputs
