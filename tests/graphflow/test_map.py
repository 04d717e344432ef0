"""The map-reduce node: window cap, order, fail-fast vs collect, item retries, progress."""

from __future__ import annotations

import anyio
import anyio.lowlevel
import pytest
from graphs import edge, graph, node

import graphflow
from graphflow.clock import FakeClock
from graphflow.runner import Runner

pytestmark = pytest.mark.anyio


def map_graph(**config):
    return graph(node("in", "input", name="items", type="array"), node("m", "map", **config),
                 node("o", "output", name="o"), node("errs", "output", name="errors"),
                 edge("in", "m"), edge("m", "o"), edge("m", "errs", "errors"))


@pytest.fixture
def registry():
    reg = graphflow.default_registry(installed=False)
    reg.register_function("total", lambda results: sum(results))
    return reg


async def run(registry, spec, inputs, clock=None):
    compiled = graphflow.validate_graph(spec, registry)
    clock = clock or FakeClock()
    async with anyio.create_task_group() as tg:
        tg.start_soon(clock.autojump)
        result = await Runner(compiled, clock=clock, progress_interval=0).run(inputs)
        tg.cancel_scope.cancel()
    return result


async def test_peak_in_flight_never_exceeds_the_cap_and_order_is_kept(registry):
    in_flight = peak = 0

    async def work(item):
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        for _ in range(item % 4):  # uneven durations: a sliding window, not batches
            await anyio.lowlevel.checkpoint()
        in_flight -= 1
        return item * 10

    registry.register_function("work", work)
    result = await run(registry, map_graph(function="work", concurrency=5), {"items": list(range(100))})
    assert result.ok and peak == 5
    assert result.outputs["o"] == [i * 10 for i in range(100)]
    assert result.outputs["errors"] == []


async def test_reduce_gets_the_successful_results(registry):
    registry.register_function("double", lambda x: x * 2)
    result = await run(registry, map_graph(function="double", reduce="total"), {"items": [1, 2, 3]})
    assert result.outputs["o"] == 12


async def test_collect_mode_keeps_going_and_lists_errors(registry):
    def picky(x):
        if x % 3 == 0:
            raise ValueError(f"bad {x}")
        return x

    registry.register_function("picky", picky)
    result = await run(registry, map_graph(function="picky", reduce="total"), {"items": list(range(1, 10))})
    assert result.ok and result.outputs["o"] == sum(x for x in range(1, 10) if x % 3)
    assert [e["index"] for e in result.outputs["errors"]] == [2, 5, 8]
    assert result.outputs["errors"][0] == {"index": 2, "error_type": "ValueError", "message": "bad 3"}


async def test_fail_fast_stops_and_cancels_the_rest(registry):
    started = []

    async def slow_or_bad(x):
        started.append(x)
        if x == 3:
            raise RuntimeError("item broke")
        await anyio.sleep(10)
        return x

    registry.register_function("slow_or_bad", slow_or_bad)
    result = await run(registry, map_graph(function="slow_or_bad", concurrency=4, fail_fast=True),
                       {"items": list(range(100))})
    assert result.status == "failed" and result.failed_node == "m"
    assert "item 3 failed: RuntimeError: item broke" in result.error
    assert len(started) < 100


async def test_item_retries_with_backoff(registry):
    attempts: dict[int, int] = {}

    def flaky(x):
        attempts[x] = attempts.get(x, 0) + 1
        if attempts[x] < 3:
            raise ConnectionError("flaky")
        return x

    registry.register_function("flaky", flaky)
    spec = map_graph(function="flaky", item_retry={"max_attempts": 3, "base_delay": 1})
    result = await run(registry, spec, {"items": [1, 2, 3]})
    assert result.ok and result.outputs["o"] == [1, 2, 3] and set(attempts.values()) == {3}


async def test_progress_events_end_with_the_full_count(registry):
    registry.register_function("same", lambda x: x)
    result = await run(registry, map_graph(function="same", concurrency=3), {"items": list(range(10))})
    progress = [(e.done, e.failed, e.total) for e in result.events if e.kind == "map_progress"]
    assert progress[0] == (0, 0, 10) and progress[-1] == (10, 0, 10)
    assert graphflow.RunState.from_events(result.events).nodes["m"].progress == (10, 0, 10)


async def test_ten_thousand_items_aggregate_progress_events(registry):
    registry.register_function("same", lambda x: x)
    compiled = graphflow.validate_graph(map_graph(function="same", concurrency=16, reduce="total"), registry)
    result = await Runner(compiled).run({"items": list(range(10_000))})
    assert result.outputs["o"] == sum(range(10_000))
    assert len([e for e in result.events if e.kind == "map_progress"]) <= 50


SUB = {"schema_version": 1, "id": "per_item", "nodes": [
    {"id": "item", "kind": "input", "config": {"name": "item", "type": "integer"}},
    {"id": "big", "kind": "condition", "config": {"expression": "value > 2"}},
    {"id": "o_big", "kind": "output", "config": {"name": "big"}},
    {"id": "o_small", "kind": "output", "config": {"name": "small"}}],
    "edges": [{"id": "a", "source": "item", "target": "big"},
              {"id": "b", "source": "big", "source_port": "true", "target": "o_big"},
              {"id": "c", "source": "big", "source_port": "false", "target": "o_small"}]}


async def test_a_sub_graph_runs_per_item(registry):
    result = await run(registry, map_graph(graph=SUB, concurrency=2), {"items": [1, 3, 2, 5]})
    assert result.ok
    assert result.outputs["o"] == [{"small": 1}, {"big": 3}, {"small": 2}, {"big": 5}]


def test_an_invalid_sub_graph_is_rejected_with_the_map_node(registry):
    bad = dict(SUB, nodes=[*SUB["nodes"][:-1], {"id": "o_small", "kind": "nope"}])
    with pytest.raises(graphflow.GraphValidationError) as err:
        graphflow.validate_graph(map_graph(graph=bad), registry)
    assert err.value.problems[0].node_id == "m" and "unknown_kind" in err.value.problems[0].message
    with pytest.raises(graphflow.GraphValidationError, match="either 'function' or 'graph'"):
        graphflow.validate_graph(map_graph(function="total", graph=SUB), registry)
