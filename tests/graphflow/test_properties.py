"""Property tests over random valid graphs (DAGs of every routing kind).

The strategy places nodes in order and only wires an edge from an earlier node to a
later one, so every graph is acyclic; it wires ports the way the validator demands
(required inputs connected once, joins fed by one or more branches, router and
condition outputs used as sources) and only draws join configs that name real branches.
It also draws error edges, optional nodes (with a default output) and stop nodes.

Runs go through ``graphflow.run`` inside ``anyio.run`` (what ``run_sync`` does) under a
deadline, so a deadlock shows up as a TimeoutError that hypothesis can shrink.

The engine bugs these properties found (a batch running nodes cancelled within it, a
fallback gate starving an earlier branch, joins reading one edge per branch) are pinned
by regression tests at the end of the file.
"""

from __future__ import annotations

import json
from typing import Any

import anyio
import anyio.lowlevel
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import graphflow
from graphflow import RunState, default_registry

TERMINAL_STATES = {"succeeded", "failed", "skipped", "cancelled"}
TERMINAL_EVENTS = {"node_succeeded", "node_failed", "node_skipped", "node_cancelled"}
MAX_NODES = 15
RUN_DEADLINE = 20.0  # a hang guard, generous for a loaded CI machine
"""Seconds a run of a tiny graph may take before it counts as hung (tiny graphs take ms)."""

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    database=None,  # no example database (hypothesis still keeps a gitignored .hypothesis/ cache)
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# -- the test registry ------------------------------------------------------------------


class Boom(Exception):
    pass


def identity(value: Any) -> Any:
    return value


def fail_always(value: Any) -> Any:
    raise Boom(f"always fails (got {value!r})")


async def async_identity(value: Any, ticks: int = 0) -> Any:
    for _ in range(ticks + 1):  # yield to the loop a few times: varies the interleaving
        await anyio.lowlevel.checkpoint()
    return value


async def async_fail(value: Any, ticks: int = 0) -> Any:
    for _ in range(ticks + 1):
        await anyio.lowlevel.checkpoint()
    raise Boom("async failure")


FUNCTIONS = {"t.identity": identity, "t.fail": fail_always, "t.aidentity": async_identity, "t.afail": async_fail}


def make_registry() -> graphflow.Registry:
    registry = default_registry(installed=False)
    for name, fn in FUNCTIONS.items():
        registry.register_function(name, fn)
    return registry


REGISTRY = make_registry()


# -- the strategy -----------------------------------------------------------------------

EXPRESSIONS = st.sampled_from(["value > 0", "value >= 0", "value == 0", "value < 2", "value % 2 == 0",
                               "value != 1", "value is None", "True", "False"])
EDGE_CONDITIONS = st.one_of(st.none(), st.none(), st.none(), EXPRESSIONS)
KINDS = ["constant", "function", "condition", "router", "join", "output"]
JOIN_STRATEGIES = ("all", "best_effort", "quorum", "first_success")


@st.composite
def valid_graphs(draw: st.DrawFn, max_nodes: int = MAX_NODES, strategies: tuple[str, ...] = JOIN_STRATEGIES,
                 fallback_modes: tuple[str, ...] = ("sequential", "race"), extras: bool = True,
                 distinct_branches: bool = False) -> dict[str, Any]:
    """A random valid DAG. ``extras`` adds error edges, optional nodes and stop nodes;
    ``distinct_branches`` gives each join at most one edge from each source node."""
    count = draw(st.integers(1, max_nodes))
    nodes: list[dict[str, Any]] = []
    edges: list[dict[str, Any]] = []
    sources: list[tuple[str, str]] = []  # (node id, output port) of the nodes so far
    error_sources: list[tuple[str, str]] = []  # (node id, "error"): every node has that port

    def source() -> tuple[str, str]:
        if extras and error_sources and draw(st.integers(0, 4)) == 0:
            return draw(st.sampled_from(error_sources))
        return draw(st.sampled_from(sources))

    def wire(source: tuple[str, str], target: str) -> None:
        edge: dict[str, Any] = {"id": f"e{len(edges)}", "source": source[0], "target": target}
        if source[1] != "out" or draw(st.booleans()):
            edge["source_port"] = source[1]
        if draw(st.booleans()):
            edge["target_port"] = "in"
        condition = draw(EDGE_CONDITIONS)
        if condition is not None:
            edge["condition"] = condition
        edges.append(edge)

    for index in range(count):
        node_id = f"n{index}"
        kind = draw(st.sampled_from(KINDS if sources else ["constant", "function"]))
        if extras and sources and draw(st.integers(0, 9)) == 0:
            kind = "stop"  # rare and always fed: a stop that runs at once leaves little to check
        node: dict[str, Any] = {"id": node_id, "kind": kind}
        outputs: list[str] = ["out"]
        if kind == "constant":
            node["config"] = {"value": draw(st.integers(-3, 3))}
        elif kind == "function":
            name = draw(st.sampled_from(sorted(FUNCTIONS)))
            config: dict[str, Any] = {"function": name}
            if name.startswith("t.a") and draw(st.booleans()):
                config["args"] = {"ticks": draw(st.integers(0, 3))}
            node["config"] = config
            if sources and draw(st.booleans()):  # the function's input is optional
                wire(source(), node_id)
        elif kind == "condition":
            node["config"] = {"expression": draw(EXPRESSIONS)}
            wire(source(), node_id)
            outputs = ["true", "false"]
        elif kind == "router":
            ports = draw(st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=3, unique=True))
            config = {"routes": [{"port": p, "when": draw(EXPRESSIONS)} for p in ports]}
            default = draw(st.sampled_from([None, "other", ports[0]]))
            if default is not None:
                config["default"] = default
            node["config"] = config
            wire(source(), node_id)
            outputs = ports + ([default] if default and default not in ports else [])
        elif kind == "join":
            incoming = list(dict.fromkeys(source() for _ in range(draw(st.integers(1, 4)))))
            if distinct_branches:
                incoming = list({s[0]: s for s in reversed(incoming)}.values())
            for edge_source in incoming:
                wire(edge_source, node_id)
            branches = list(dict.fromkeys(s[0] for s in incoming))
            strategy = draw(st.sampled_from(strategies))
            config = {"strategy": strategy} if strategy != "all" or draw(st.booleans()) else {}
            if strategy == "best_effort":
                config["required"] = draw(st.lists(st.sampled_from(branches), unique=True, max_size=2))
            elif strategy == "quorum":
                config["quorum"] = draw(st.integers(1, len(branches)))
            elif strategy == "first_success":
                config["order"] = draw(st.permutations(branches).flatmap(
                    lambda p: st.integers(0, len(p)).map(lambda k: list(p[:k]))))
                config["mode"] = draw(st.sampled_from(fallback_modes))
            node["config"] = config
        elif kind == "stop":
            node["config"] = {"status": draw(st.sampled_from(["succeeded", "failed"])), "reason": "enough"}
            wire(source(), node_id)
            outputs = []
        else:  # output
            node["config"] = {"name": f"out_{node_id}"}
            wire(source(), node_id)
            outputs = []
        if extras and kind in ("function", "condition", "router") and draw(st.integers(0, 3)) == 0:
            node["optional"] = True
            node["default_output"] = draw(st.integers(-3, 3))
        if draw(st.booleans()):
            node["label"] = draw(st.text(max_size=8))
        if draw(st.booleans()):
            node["position"] = {"x": draw(st.floats(-1e6, 1e6)), "y": float(index * 100)}
        nodes.append(node)
        sources.extend((node_id, p) for p in outputs)
        error_sources.append((node_id, "error"))
    return {"schema_version": 1, "id": "prop", "name": "property graph", "nodes": nodes, "edges": edges}


# -- properties -------------------------------------------------------------------------


def run_with_deadline(graph: Any, **options: Any) -> graphflow.RunResult:
    """``graphflow.run_sync`` plus a deadline: a hang fails (and shrinks) instead of blocking."""

    async def go() -> graphflow.RunResult:
        with anyio.fail_after(RUN_DEADLINE):
            return await graphflow.run(graph, registry=REGISTRY, **options)

    return anyio.run(go)


def assert_consistent(graph: dict[str, Any], result: graphflow.RunResult) -> None:
    node_ids = [n["id"] for n in graph["nodes"]]
    assert result.status in {"succeeded", "failed"}  # nothing here cancels the run
    assert set(result.node_states) == set(node_ids)
    assert set(result.node_states.values()) <= TERMINAL_STATES, result.node_states

    events = result.events
    assert [e.seq for e in events] == list(range(len(events)))
    assert events[0].kind == "run_started"
    assert events[-1].kind in {"run_finished", "run_cancelled"}
    assert all(e.kind not in {"run_started", "run_finished", "run_cancelled"} for e in events[1:-1])
    terminal = {n: 0 for n in node_ids}
    started = {n: 0 for n in node_ids}
    for event in events:
        if event.kind in TERMINAL_EVENTS:
            terminal[event.node_id] += 1
        elif event.kind == "node_started":
            started[event.node_id] += 1
    assert all(c <= 1 for c in terminal.values()), terminal
    assert all(c == 1 for c in terminal.values()), terminal  # follows from from_events below
    assert all(c <= 1 for c in started.values()), started

    state = RunState.from_events(events)
    assert {n: r.status for n, r in state.nodes.items()} == result.node_states
    assert state.outputs == result.outputs
    assert state.status == result.status
    assert (result.failed_node is None) == (result.status != "failed")


@SETTINGS
@given(valid_graphs())
def test_generated_graphs_validate_and_round_trip_through_json(graph: dict[str, Any]) -> None:
    spec = graphflow.load_graph(graph)
    compiled = graphflow.validate_graph(spec, REGISTRY)
    assert set(compiled.order) == {n["id"] for n in graph["nodes"]}
    text = spec.model_dump_json()
    again = graphflow.load_graph(text)
    assert again == spec
    assert again.model_dump_json() == text
    # The same graph given as JSON text or as a dict validates the same way.
    assert graphflow.validate_graph(json.dumps(graph), REGISTRY).order == compiled.order


# Minimal graphs for the engine bugs this property found (see the regression tests below).
BATCH_CANCELLED = {  # an inline node fails the run; the runner then runs 'b', already cancelled
    "schema_version": 1, "id": "batch", "nodes": [
        {"id": "a", "kind": "constant", "config": {"value": 1}},
        {"id": "b", "kind": "constant", "config": {"value": 2}},
        {"id": "out", "kind": "output", "config": {"name": "out"}}],
    "edges": [{"id": "e1", "source": "a", "target": "out", "condition": "value.x == 1"}],
}
QUORUM_EARLY = {  # the quorum is met by 'a', which cancels 'b' that the runner then runs anyway
    "schema_version": 1, "id": "quorum", "nodes": [
        {"id": "a", "kind": "constant", "config": {"value": 1}},
        {"id": "b", "kind": "constant", "config": {"value": 2}},
        {"id": "j", "kind": "join", "config": {"strategy": "quorum", "quorum": 1}}],
    "edges": [{"id": "e1", "source": "a", "target": "j"}, {"id": "e2", "source": "b", "target": "j"}],
}
FALLBACK_DEADLOCK = {  # 'a' heads the 2nd fallback branch but also feeds the 1st: held forever
    "schema_version": 1, "id": "fallback", "nodes": [
        {"id": "a", "kind": "constant", "config": {"value": 1}},
        {"id": "b", "kind": "function", "config": {"function": "t.identity"}},
        {"id": "j", "kind": "join", "config": {"strategy": "first_success"}}],
    "edges": [{"id": "e1", "source": "a", "target": "b"}, {"id": "e2", "source": "b", "target": "j"},
              {"id": "e3", "source": "a", "target": "j"}],
}
RACE_TWO_EDGES = {  # branch 'r' enters the race twice; its live edge is not its first one
    "schema_version": 1, "id": "race", "nodes": [
        {"id": "a", "kind": "constant", "config": {"value": 1}},
        {"id": "r", "kind": "router", "config": {"routes": [{"port": "small", "when": "value < 0"}],
                                                 "default": "big"}},
        {"id": "b", "kind": "function", "config": {"function": "t.aidentity"}},
        {"id": "j", "kind": "join", "config": {"strategy": "first_success", "mode": "race"}}],
    "edges": [{"id": "e0", "source": "a", "target": "r"},
              {"id": "e1", "source": "r", "source_port": "small", "target": "j"},
              {"id": "e2", "source": "r", "source_port": "big", "target": "j"},
              {"id": "e3", "source": "b", "target": "j"}],
}
ALL_TWO_EDGES = {  # the same shape under strategy "all": 'r' delivered a value, yet the join is skipped
    "schema_version": 1, "id": "all", "nodes": [
        {"id": "a", "kind": "constant", "config": {"value": 1}},
        {"id": "r", "kind": "router", "config": {"routes": [{"port": "small", "when": "value < 0"}],
                                                 "default": "big"}},
        {"id": "j", "kind": "join", "config": {"strategy": "all"}}],
    "edges": [{"id": "e0", "source": "a", "target": "r"},
              {"id": "e1", "source": "r", "source_port": "small", "target": "j"},
              {"id": "e2", "source": "r", "source_port": "big", "target": "j"}],
}
@SETTINGS
@example(BATCH_CANCELLED)
@example(QUORUM_EARLY)
@example(FALLBACK_DEADLOCK)
@example(RACE_TWO_EDGES)
@given(valid_graphs())
def test_runs_finish_with_consistent_events(graph: dict[str, Any]) -> None:
    assert_consistent(graph, run_with_deadline(graph))


@SETTINGS
@given(valid_graphs(fallback_modes=("race",), distinct_branches=True))
def test_runs_one_node_at_a_time_finish_with_consistent_events(graph: dict[str, Any]) -> None:
    """The same property, one node at a time (take_ready hands out one node per batch)."""
    assert_consistent(graph, run_with_deadline(graph, max_concurrency=1))


def test_hand_written_graph_runs() -> None:
    graph = {"schema_version": 1, "id": "one", "nodes": [{"id": "n0", "kind": "constant", "config": {"value": 1}}]}
    result = run_with_deadline(graph)
    assert result.status == "succeeded" and result.node_states == {"n0": "succeeded"}
    assert_consistent(graph, result)


# -- regression tests for the engine bugs the property found -------------------------------


def test_node_cancelled_by_an_inline_failure_is_not_run() -> None:
    result = run_with_deadline(BATCH_CANCELLED)
    assert (result.status, result.failed_node) == ("failed", "a")
    assert result.node_states == {"a": "failed", "b": "cancelled", "out": "cancelled"}
    assert_consistent(BATCH_CANCELLED, result)


def test_node_cancelled_by_an_early_quorum_is_not_run() -> None:
    result = run_with_deadline(QUORUM_EARLY)
    assert result.status == "succeeded"
    assert result.node_states["j"] == "succeeded" and result.node_states["a"] == "succeeded"
    assert_consistent(QUORUM_EARLY, result)


def test_fallback_branch_head_that_feeds_an_earlier_branch_is_not_held() -> None:
    result = run_with_deadline(FALLBACK_DEADLOCK)
    assert result.status == "succeeded"
    assert result.events[-2].kind == "node_succeeded" and result.events[-2].output == {
        "out": {"source": "b", "value": 1}}
    assert_consistent(FALLBACK_DEADLOCK, result)


def test_race_join_with_two_edges_from_one_branch() -> None:
    result = run_with_deadline(RACE_TWO_EDGES)
    assert result.status == "succeeded" and result.node_states["j"] == "succeeded"
    assert_consistent(RACE_TWO_EDGES, result)


def test_join_sees_a_branch_value_sent_on_its_second_edge() -> None:
    result = run_with_deadline(ALL_TWO_EDGES)
    assert_consistent(ALL_TWO_EDGES, result)
    assert result.node_states["j"] == "succeeded", result.node_states


def test_batch_graphs_also_run_one_node_at_a_time() -> None:
    for graph in (BATCH_CANCELLED, QUORUM_EARLY):
        assert_consistent(graph, run_with_deadline(graph, max_concurrency=1))


SHARED_FALLBACK_HEAD = {  # n3 heads the 2nd fallback branch of n6 but also feeds n4, n5, n7: never held
    "schema_version": 1, "id": "shared_head",
    "nodes": [{"id": "n0", "kind": "constant", "config": {"value": 0}},
              {"id": "n1", "kind": "constant", "config": {"value": 0}},
              {"id": "n2", "kind": "constant", "config": {"value": -2}},
              {"id": "n3", "kind": "join", "config": {"strategy": "quorum", "quorum": 1}},
              {"id": "n4", "kind": "join", "config": {}},
              {"id": "n5", "kind": "join", "config": {"strategy": "best_effort", "required": ["n3", "n4"]}},
              {"id": "n6", "kind": "join", "config": {"strategy": "first_success", "mode": "sequential"}},
              {"id": "n7", "kind": "stop", "config": {"status": "succeeded", "reason": "enough"}}],
    "edges": [{"id": "e0", "source": "n1", "target": "n3"}, {"id": "e1", "source": "n2", "target": "n3"},
              {"id": "e2", "source": "n0", "target": "n4"}, {"id": "e3", "source": "n3", "target": "n4"},
              {"id": "e4", "source": "n4", "target": "n5"},
              {"id": "e5", "source": "n3", "target": "n5", "source_port": "error", "condition": "value > 0"},
              {"id": "e6", "source": "n0", "target": "n6"}, {"id": "e7", "source": "n3", "target": "n6"},
              {"id": "e8", "source": "n3", "target": "n7"}],
}


def test_fallback_head_shared_with_other_consumers_is_not_held() -> None:
    result = run_with_deadline(SHARED_FALLBACK_HEAD)
    assert result.node_states["n6"] == "succeeded"
    # n5 requires branch n3, which reaches it only through n3's error port: n3 succeeded, so
    # that edge is not taken and n5 fails (it used to get n3's result down its error edge)
    assert (result.status, result.failed_node) == ("failed", "n5")
    assert_consistent(SHARED_FALLBACK_HEAD, result)
