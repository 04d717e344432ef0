"""Stats from event logs: pure functions over known data."""

from __future__ import annotations

from typing import Any

import pytest

from graphflow import events as ev
from graphflow.stats import GraphStats, graph_stats, node_stats, percentile, run_cost


def test_percentile_interpolates_between_ranks():
    data = list(range(10, 0, -1))  # 1..10, unsorted
    assert percentile(data, 50) == pytest.approx(5.5)
    assert percentile(data, 95) == pytest.approx(9.55)
    assert percentile(data, 0) == 1 and percentile(data, 100) == 10
    assert percentile([3.0], 95) == 3.0
    assert percentile([], 50) is None
    with pytest.raises(ValueError):
        percentile(data, 101)


def a_run(run_id: str, *, a: float, b_ok: bool, b: float = 1.0, retries: int = 0, duration: float = 10.0,
          cost: float = 0.0) -> list[Any]:
    seq = iter(range(100))

    def at(cls: Any, **fields: Any) -> Any:
        return cls(run_id=run_id, seq=next(seq), at=0.0, **fields)

    events = [at(ev.RunStarted, graph_id="g", node_ids=["a", "b", "never"]),
              at(ev.NodeStarted, node_id="a"),
              at(ev.NodeSucceeded, node_id="a", duration=a, cost=0.01),
              at(ev.NodeStarted, node_id="b")]
    events += [at(ev.NodeRetrying, node_id="b", attempt=i + 1, delay=0.0, error_type="E", error_message="m")
               for i in range(retries)]
    if b_ok:
        events.append(at(ev.NodeSucceeded, node_id="b", duration=b, cost=0.02))
    else:
        events.append(at(ev.NodeFailed, node_id="b", duration=b, error_type="E", error_message="m", cost=0.02))
    events.append(at(ev.RunFinished, status="succeeded" if b_ok else "failed", duration=duration, cost=cost))
    return events


def test_node_stats():
    runs = [a_run(f"r{i}", a=float(i), b_ok=i % 4 != 0, retries=i % 2) for i in range(1, 11)]
    stats = {s.node_id: s for s in node_stats(runs)}
    assert list(stats) == ["a", "b", "never"]
    a, b, never = stats["a"], stats["b"], stats["never"]
    assert (a.runs, a.p50, a.p95, a.success_rate, a.retries) == (10, 5.5, pytest.approx(9.55), 1.0, 0)
    assert a.cost_per_1k_runs == pytest.approx(10.0)  # 0.01 per run
    assert (b.runs, b.success_rate, b.retries, b.p50) == (10, 0.8, 5, 1.0)  # r4 and r8 failed
    assert b.cost_per_1k_runs == pytest.approx(20.0)
    assert (never.runs, never.p50, never.p95, never.success_rate, never.retries, never.cost_per_1k_runs) == (
        0, None, None, None, 0, 0.0)


def test_graph_stats():
    runs = [a_run(f"r{i}", a=1.0, b_ok=i != 3, duration=float(i)) for i in range(1, 5)]
    runs[0][-1] = runs[0][-1].model_copy(update={"cost": 1.0})  # the runner totalled this run's cost
    stats = graph_stats(runs)
    assert (stats.runs, stats.p50, stats.success_rate) == (4, 2.5, 0.75)
    assert stats.p95 == pytest.approx(3.85)
    assert stats.cost_per_1k_runs == pytest.approx((1.0 + 3 * 0.03) / 4 * 1000)
    assert run_cost(runs[0]) == 1.0 and run_cost(runs[1]) == pytest.approx(0.03)


def test_empty_input():
    assert node_stats([]) == []
    assert graph_stats([]) == GraphStats(runs=0, p50=None, p95=None, success_rate=None, cost_per_1k_runs=0.0)
    unfinished = [[ev.RunStarted(run_id="r", seq=0, at=0.0, graph_id="g")]]
    assert graph_stats(unfinished) == GraphStats(runs=1, p50=None, p95=None, success_rate=0.0, cost_per_1k_runs=0.0)


def test_a_degraded_success_counts_as_the_node_failing():
    def run(run_id: str, degraded: bool) -> list[Any]:
        return [ev.RunStarted(run_id=run_id, seq=0, at=0.0, graph_id="g", node_ids=["enrich"]),
                ev.NodeStarted(run_id=run_id, seq=1, at=0.0, node_id="enrich"),
                ev.NodeSucceeded(run_id=run_id, seq=2, at=0.0, node_id="enrich", duration=1.0, degraded=degraded,
                                 error="TimeoutError: slow" if degraded else None),
                ev.RunFinished(run_id=run_id, seq=3, at=0.0, status="succeeded", degraded=["enrich"] * degraded)]

    (enrich,) = node_stats([run("r1", True), run("r2", True), run("r3", False), run("r4", True)])
    assert (enrich.runs, enrich.success_rate) == (4, 0.25)
    assert graph_stats([run("r1", True)]).success_rate == 1.0  # the run itself succeeded
