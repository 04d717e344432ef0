"""Run from here (``Workspace.plan_from`` / ``run_from``): the chosen node and its descendants run
again, every other node's output is reused from an earlier run, and each refusal says why."""

from __future__ import annotations

from typing import Any

import pytest
from graphs import edge, fn, graph, node

import graphflow
from graphflow.describe import detail
from graphflow.memory import MemoryStore
from graphflow.service import RunRefused, Workspace

pytestmark = pytest.mark.anyio


@pytest.fixture
def calls() -> list[str]:
    return []


@pytest.fixture
def workspace(calls: list[str]) -> Workspace:
    registry = graphflow.default_registry(installed=False)

    def step(value: Any, ctx: Any, add: int = 1) -> int:
        calls.append(ctx.node_id)
        return (value or 0) + add

    def flaky(value: Any, ctx: Any) -> int:
        calls.append(ctx.node_id)
        raise ValueError("flaky failed")

    registry.register_function("step", step)
    registry.register_function("flaky", flaky)
    return Workspace(MemoryStore(), registry)


def spec(b_add: int = 10, d_add: int = 1000, side: str = "step") -> dict[str, Any]:
    """x -> a -> b -> o1 and a -> c -> o2, with d (a sibling branch off x) -> o3."""
    return graph(
        node("x", "input", name="x", type="integer"), fn("a", "step"), fn("b", "step", add=b_add),
        fn("c", "step", add=100), fn("d", side, **({"add": d_add} if side == "step" else {})),
        node("o1", "output", name="b"), node("o2", "output", name="c"), node("o3", "output", name="d"),
        edge("x", "a"), edge("a", "b"), edge("a", "c"), edge("x", "d"), edge("b", "o1"), edge("c", "o2"),
        edge("d", "o3"))


async def test_a_run_from_a_node_runs_it_and_its_descendants_and_reuses_the_rest(
        workspace: Workspace, calls: list[str]) -> None:
    await workspace.save(spec())
    first = await workspace.run("g", {"x": 1})
    assert first.outputs == {"b": 12, "c": 102, "d": 1001}
    await workspace.save(spec(b_add=20))  # b changed: it runs again, so its new config counts
    calls.clear()
    plan = await workspace.plan_from("g", "b")
    assert (plan.earlier.run_id, plan.graph.version, plan.rerun) == (first.run_id, 2, ["b", "o1"])
    assert plan.reused == ["x", "a", "c", "d", "o2", "o3"]
    result = await workspace.run_from(plan)
    assert result.ok and result.outputs == {"b": 22, "c": 102, "d": 1001}
    assert calls == ["b"]  # a, c and d were reused, not called
    started = result.events[0]
    assert (started.from_node, started.resumed_from, started.inputs) == ("b", first.run_id, {"x": 1})
    reused = [e.node_id for e in result.events if e.kind == "node_succeeded" and e.reused_from == first.run_id]
    assert sorted(reused) == sorted(plan.reused)
    assert detail(started) == f"graph g v2, run from node 'b', reusing run {first.run_id}"
    stored = await workspace.events(result.run_id)
    assert [e.kind for e in stored] == [e.kind for e in result.events]  # recorded as it ran


async def test_the_default_is_the_latest_run_whose_outputs_fit(workspace: Workspace) -> None:
    await workspace.save(spec())
    good = await workspace.run("g", {"x": 1})
    await workspace.save(spec(side="flaky"))
    broken = await workspace.run("g", {"x": 5})  # d failed: its output cannot be reused
    assert broken.failed_node == "d"
    await workspace.save(spec(side="step"))  # version 3 is version 1 again
    plan = await workspace.plan_from("g", "c")
    assert plan.earlier.run_id == good.run_id
    assert (await workspace.run_from(plan)).outputs == {"b": 12, "c": 102, "d": 1001}


async def test_a_named_run_is_used_and_refused_when_it_does_not_fit(workspace: Workspace) -> None:
    await workspace.save(spec())
    older = await workspace.run("g", {"x": 1})
    newer = await workspace.run("g", {"x": 2})
    plan = await workspace.plan_from("g", "b", after=older.run_id)
    assert plan.earlier.run_id == older.run_id
    assert (await workspace.run_from(plan)).outputs["b"] == 12  # the older run's input, 1
    assert (await workspace.plan_from("g", "b")).earlier.run_id != older.run_id  # the newest fitting one
    await workspace.save(spec(side="flaky"))
    failed = await workspace.run("g", {"x": 3})
    with pytest.raises(RunRefused, match=f"cannot reuse run {failed.run_id}: .*'d' failed"):
        await workspace.plan_from("g", "b", after=failed.run_id)
    assert newer.ok


async def test_an_upstream_node_changed_since_is_refused_and_named(workspace: Workspace) -> None:
    await workspace.save(spec())
    first = await workspace.run("g", {"x": 1})
    await workspace.save(spec(d_add=5))  # d is not downstream of b: its output would be stale
    with pytest.raises(RunRefused, match=f"cannot reuse run {first.run_id}: 'd' changed since that run"):
        await workspace.plan_from("g", "b")
    with pytest.raises(RunRefused, match="'d' changed since"):
        await workspace.plan_from("g", "b", after=first.run_id)
    assert (await workspace.plan_from("g", "d")).rerun == ["d", "o3"]  # from d itself it fits


async def test_a_removed_input_edge_counts_as_a_change(workspace: Workspace) -> None:
    await workspace.save(spec())
    await workspace.run("g", {"x": 1})
    data = spec()
    data["edges"] = [e for e in data["edges"] if "c" not in (e["source"], e["target"])]
    data["nodes"] = [n for n in data["nodes"] if n["id"] != "c"]
    data["edges"].append(edge("a", "o2"))  # o2 now reads a instead of c
    await workspace.save(data)
    with pytest.raises(RunRefused, match="'o2' changed since"):
        await workspace.plan_from("g", "b")


async def test_refusals_name_the_node(workspace: Workspace) -> None:
    await workspace.save(spec())
    with pytest.raises(RunRefused, match="the graph has no run yet: run it whole first"):
        await workspace.plan_from("g", "b")
    await workspace.run("g", {"x": 1})
    with pytest.raises(RunRefused, match="graph 'g' has no node 'nope'"):
        await workspace.plan_from("g", "nope")
    with pytest.raises(RunRefused, match="'x' is an input node"):
        await workspace.plan_from("g", "x")
    await workspace.save(graph(node("y", "input", name="y", type="integer"), node("o", "output", name="o"),
                               edge("y", "o"), graph_id="other"))
    other = await workspace.run("other", {"y": 1})
    with pytest.raises(RunRefused, match=f"run {other.run_id} is a run of 'other', not of 'g'"):
        await workspace.plan_from("g", "b", after=other.run_id)


async def test_no_run_with_every_output_is_refused_with_the_latest_one_named(workspace: Workspace) -> None:
    await workspace.save(spec(side="flaky"))
    failed = await workspace.run("g", {"x": 1})
    with pytest.raises(RunRefused, match=rf"none of the latest 1 run has that \(latest, {failed.run_id}: 'd' failed"):
        await workspace.plan_from("g", "b")
    with pytest.raises(RunRefused, match="'b' cancelled"):  # d's failure stopped b: nothing of it to reuse
        await workspace.plan_from("g", "d")


async def test_a_branch_skipped_in_the_earlier_run_is_skipped_again(workspace: Workspace, calls: list[str]) -> None:
    await workspace.save(graph(
        node("x", "input", name="x", type="integer"), node("cond", "condition", expression="value > 5"),
        fn("big", "step"), fn("small", "step"), fn("t", "step"), node("o", "output", name="t"),
        edge("x", "cond"), edge("cond", "big", "true"), edge("cond", "small", "false"), edge("x", "t"),
        edge("t", "o")))
    first = await workspace.run("g", {"x": 1})
    assert first.node_states["big"] == "skipped"
    calls.clear()
    result = await workspace.run_from(await workspace.plan_from("g", "t"))
    assert result.ok and calls == ["t"]  # neither branch ran again: small reused, big decided skipped
    assert result.node_states["big"] == "skipped"
