"""Continuing a run from its log: after a crash (cut the log anywhere) and from a failure."""

from __future__ import annotations

import pytest
from graphs import edge, fn, graph, node

import graphflow
from graphflow.clock import FakeClock
from graphflow.resume import changed_nodes, recover, seed_from
from graphflow.runner import Runner

pytestmark = pytest.mark.anyio


def build_registry(calls: list[str]) -> graphflow.Registry:
    reg = graphflow.default_registry(installed=False)

    def step(value, ctx, add=1):
        calls.append(ctx.idempotency_key)
        if isinstance(value, dict):  # a join's output
            value = len(value["results"])
        return (value or 0) + add

    reg.register_function("step", step)
    return reg


SPEC = graph(
    node("in", "input", name="x", type="integer"),
    fn("a", "step"), fn("b", "step", add=10), fn("c", "step", add=100),
    node("j", "join", strategy="best_effort"), fn("d", "step"),
    node("cond", "condition", expression="value > 5"), node("big", "output", name="big"),
    node("small", "output", name="small"), node("dout", "output", name="d"),
    edge("d", "dout"), edge("in", "a"), edge("a", "b"), edge("a", "c"), edge("b", "j"), edge("c", "j"),
    edge("j", "d", condition="True"),  # conditions on a join's edges are evaluated like any other
    edge("in", "cond"), edge("cond", "big", "true"), edge("cond", "small", "false"),
)


async def test_resume_after_a_crash_at_every_event():
    calls: list[str] = []
    compiled = graphflow.validate_graph(SPEC, build_registry(calls))
    full = await Runner(compiled, max_concurrency=1).run({"x": 7}, run_id="r1")
    assert full.ok
    for cut in range(1, len(full.events) - 1):
        log = full.events[:cut]
        calls.clear()
        resumed = await Runner(compiled).resume(log)
        events = resumed.events
        assert resumed.status == "succeeded" and resumed.outputs == full.outputs, cut
        assert [e.seq for e in events] == list(range(len(events))), cut
        terminal = [e.node_id for e in events if e.kind in ("node_succeeded", "node_failed", "node_skipped",
                                                               "node_cancelled")]
        assert sorted(terminal) == sorted(set(terminal)), f"a node settled twice when cut at {cut}"
        assert sorted(terminal) == sorted(compiled.order)
        succeeded_before = {e.node_id for e in log if e.kind == "node_succeeded"}
        assert not [c for c in calls if c.split(":")[1] in succeeded_before], cut
        assert len(calls) == len(set(calls)), cut
        assert graphflow.RunState.from_events(events).nodes.keys() == set(compiled.order)


async def test_a_finished_run_is_never_resumed():
    compiled = graphflow.validate_graph(SPEC, build_registry([]))
    done = await Runner(compiled).run({"x": 1})
    with pytest.raises(ValueError, match="already finished"):
        await Runner(compiled).resume(done.events)


async def test_resume_keeps_attempt_counter_and_backoff_deadline():
    compiled = graphflow.validate_graph(SPEC, build_registry([]))
    full = await Runner(compiled).run({"x": 7}, run_id="r2")
    started_a = next(e for e in full.events if e.kind == "node_started" and e.node_id == "a")
    retrying = graphflow.events.NodeRetrying(run_id="r2", seq=started_a.seq + 1, at=started_a.at, node_id="a",
                                             attempt=1, delay=0.0, error_type="ConnectionError",
                                             error_message="flaky")
    log = [*full.events[: started_a.seq + 1], retrying]
    rec = recover(log)
    assert rec.attempts["a"] == 2 and rec.retry_at["a"] == started_a.at
    resumed = await Runner(compiled).resume(log)
    restarted = [e for e in resumed.events if e.kind == "node_started" and e.node_id == "a"]
    assert [e.attempt for e in restarted] == [1, 2]


async def test_resume_from_a_failure_reuses_upstream_outputs():
    calls: list[str] = []
    registry = build_registry(calls)

    def picky(value):
        raise ValueError("bad data")

    registry.register_function("picky", picky)
    broken = graph(node("in", "input", name="x", type="integer"), fn("a", "step"), fn("b", "picky"),
                   node("o", "output", name="o"), edge("in", "a"), edge("a", "b"), edge("b", "o"))
    failed = await Runner(graphflow.validate_graph(broken, registry)).run({"x": 1})
    assert failed.failed_node == "b"
    fixed = graph(node("in", "input", name="x", type="integer"), fn("a", "step"), fn("b", "step"),
                  node("o", "output", name="o"), edge("in", "a"), edge("a", "b"), edge("b", "o"))
    old, new = graphflow.load_graph(broken), graphflow.load_graph(fixed)
    seed = seed_from(failed.events, old, new)
    assert seed.changed == ["b"] and set(seed.outputs) == {"in", "a"}
    calls.clear()
    result = await Runner(graphflow.validate_graph(new, registry)).run({"x": 1}, seed=seed)
    assert result.ok and result.outputs == {"o": 3}
    assert [c.split(":")[1] for c in calls] == ["b"]
    reused = [e.node_id for e in result.events if e.kind == "node_succeeded" and e.reused_from == failed.run_id]
    assert reused == ["in", "a"]
    assert result.events[0].resumed_from == failed.run_id


def test_changed_nodes_ignores_cosmetics():
    old = graphflow.load_graph(SPEC)
    data = old.model_dump()
    data["nodes"][1]["label"] = "renamed"
    data["nodes"][1]["position"] = {"x": 5, "y": 5}
    data["nodes"][2]["config"]["args"]["add"] = 11
    assert changed_nodes(old, graphflow.load_graph(data)) == ["b"]


async def test_a_resumed_runs_duration_covers_the_whole_run():
    """Not only the part after the resume: from the first run_started to the end, on the wall clock."""
    compiled = graphflow.validate_graph(SPEC, build_registry([]))
    clock = FakeClock()
    full = await Runner(compiled, clock=clock, max_concurrency=1).run({"x": 7}, run_id="r1")
    clock.advance(100)  # the process died; the next one starts 100 s later
    resumed = await Runner(compiled, clock=clock).resume(full.events[:4])
    assert resumed.events[-1].kind == "run_finished"
    assert resumed.events[-1].duration == pytest.approx(clock.time() - full.events[0].at) == pytest.approx(100)
