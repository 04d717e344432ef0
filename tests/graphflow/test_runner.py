"""The runner with real tasks, an injected clock and no real sleeping."""

from __future__ import annotations

import anyio
import anyio.lowlevel
import pytest
from graphs import edge, fn, graph, node

import graphflow
from graphflow.clock import FakeClock
from graphflow.runner import Runner

pytestmark = pytest.mark.anyio


@pytest.fixture
def registry() -> graphflow.Registry:
    reg = graphflow.default_registry(installed=False)
    reg.register_function("inc", lambda v: (v or 0) + 1)

    async def hang(v):
        await anyio.sleep_forever()

    reg.register_function("hang", hang)

    def explode(v):
        raise ConnectionError("upstream unavailable")

    reg.register_function("explode", explode)
    reg.register_function("not_json", lambda v: object())
    return reg


async def run_with(registry, spec, inputs=None, **kw):
    compiled = graphflow.validate_graph(spec, registry)
    return await Runner(compiled, **kw).run(inputs)


async def test_chain_passes_values_and_records_events(registry):
    spec = graph(node("in", "input", name="x", type="integer"), fn("a", "inc"), fn("b", "inc"),
                 node("out", "output", name="y"), edge("in", "a"), edge("a", "b"), edge("b", "out"))
    result = await run_with(registry, spec, {"x": 1})
    assert result.ok and result.outputs == {"y": 3}
    assert [e.seq for e in result.events] == list(range(len(result.events)))
    kinds = [(e.kind, getattr(e, "node_id", None)) for e in result.events]
    assert kinds[0] == ("run_started", None) and kinds[-1] == ("run_finished", None)
    assert ("node_succeeded", "b") in kinds
    succeeded_b = next(e for e in result.events if e.kind == "node_succeeded" and e.node_id == "b")
    assert succeeded_b.output == {"out": 3} and succeeded_b.edges_taken == ["b.out-out.in"]


async def test_failure_names_the_node_and_cancels_the_rest(registry):
    spec = graph(fn("ok", "inc"), fn("bad", "explode"), fn("slow", "hang"), fn("after", "inc"), edge("bad", "after"))
    result = await run_with(registry, spec)
    assert result.status == "failed" and result.failed_node == "bad"
    assert result.error == "ConnectionError: upstream unavailable"
    assert result.node_states["slow"] == "cancelled" and result.node_states["after"] == "cancelled"
    failed = next(e for e in result.events if e.kind == "node_failed")
    assert (failed.node_id, failed.error_type, failed.handled) == ("bad", "ConnectionError", False)


async def test_timeout_fires_on_the_fake_clock_without_sleeping(registry):
    clock = FakeClock()
    spec = graph(node("h", "function", function="hang", _node={"timeout": 30}))
    async with anyio.create_task_group() as tg:
        tg.start_soon(clock.autojump)
        result = await run_with(registry, spec, clock=clock)
        tg.cancel_scope.cancel()
    assert result.status == "failed"
    assert result.error == "NodeTimeout: timed out after 30s"
    assert clock.monotonic() == pytest.approx(30)


async def test_delay_uses_the_run_clock(registry):
    clock = FakeClock()
    spec = graph(node("c", "constant", value="v"), node("d", "delay", seconds=3600), node("o", "output", name="o"),
                 edge("c", "d"), edge("d", "o"))
    async with anyio.create_task_group() as tg:
        tg.start_soon(clock.autojump)
        result = await run_with(registry, spec, clock=clock)
        tg.cancel_scope.cancel()
    assert result.outputs == {"o": "v"}
    done = next(e for e in result.events if e.kind == "node_succeeded" and e.node_id == "d")
    assert done.duration == pytest.approx(3600)


async def test_cancel_from_outside_ends_the_run(registry):
    control = graphflow.RunControl()
    spec = graph(fn("h1", "hang"), fn("h2", "hang"), fn("after", "inc"), edge("h1", "after"))
    log = graphflow.EventLog()

    async def cancel_when_running():
        async for event in log.subscribe():
            if event.kind == "node_started" and event.node_id == "h2":
                control.cancel("user pressed stop")

    async with anyio.create_task_group() as tg:
        tg.start_soon(cancel_when_running)
        compiled = graphflow.validate_graph(spec, registry)
        result = await Runner(compiled, sinks=[log]).run(control=control)
    assert result.status == "cancelled"
    assert set(result.node_states.values()) == {"cancelled"}
    assert result.events[-1].kind == "run_cancelled" and result.events[-1].reason == "user pressed stop"


async def test_concurrency_cap_is_never_exceeded(registry):
    in_flight = peak = 0

    async def tracked(v):
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await anyio.lowlevel.checkpoint()
        await anyio.lowlevel.checkpoint()
        in_flight -= 1
        return v

    registry.register_function("tracked", tracked)
    spec = graph(*(fn(f"n{i}", "tracked") for i in range(40)))
    result = await run_with(registry, spec, max_concurrency=3)
    assert result.ok and peak == 3


async def test_independent_nodes_overlap(registry):
    order = []

    async def step(v, name):
        order.append(f"start:{name}")
        await anyio.lowlevel.checkpoint()
        order.append(f"end:{name}")

    registry.register_function("step", step)
    spec = graph(*(fn(n, "step", name=n) for n in "abc"))
    await run_with(registry, spec)
    assert [o.split(":")[0] for o in order[:3]] == ["start"] * 3


async def test_non_json_output_fails_the_node(registry):
    result = await run_with(registry, graph(fn("x", "not_json")))
    assert result.failed_node == "x" and result.error.startswith("NodeOutputError")


async def test_run_inputs_are_checked(registry):
    spec = graph(node("in", "input", name="age", type="integer"), node("o", "output", name="o"), edge("in", "o"))
    with pytest.raises(graphflow.RunInputError, match="'age' must be integer"):
        await run_with(registry, spec, {"age": "old"})
    with pytest.raises(graphflow.RunInputError, match="missing required input 'age'"):
        await run_with(registry, spec, {})
    with pytest.raises(graphflow.RunInputError, match="unknown input"):
        await run_with(registry, spec, {"age": 3, "name": "x"})


async def test_an_input_with_a_default_is_optional_unless_marked_required(registry):
    def spec(**config):
        return graph(node("in", "input", name="n", type="integer", **config), node("o", "output", name="o"),
                     edge("in", "o"))

    assert (await run_with(registry, spec(default=3), {})).outputs == {"o": 3}  # required left unset
    assert (await run_with(registry, spec(default=3, required=False), {})).outputs == {"o": 3}
    assert (await run_with(registry, spec(default=3), {"n": 4})).outputs == {"o": 4}
    with pytest.raises(graphflow.RunInputError, match="missing required input 'n'"):
        await run_with(registry, spec(default=3, required=True), {})  # said so explicitly
    with pytest.raises(graphflow.RunInputError, match="missing required input 'n'"):
        await run_with(registry, spec(), {})  # no default: required as before


async def test_state_rebuilt_from_events_matches_the_run(registry):
    spec = graph(node("c", "constant", value=2), node("cond", "condition", expression="value > 1"), fn("y", "inc"),
                 fn("n", "inc"), fn("bad", "explode"), node("j", "join", strategy="best_effort"),
                 node("o", "output", name="o"), edge("c", "cond"), edge("cond", "y", "true"),
                 edge("cond", "n", "false"), edge("y", "j"), edge("n", "j"), edge("bad", "j"), edge("j", "o"))
    result = await run_with(registry, spec)
    state = graphflow.RunState.from_events(result.events)
    assert {n: r.status for n, r in state.nodes.items()} == result.node_states
    expected = {"results": {"y": 3}, "errors": {"bad": "ConnectionError: upstream unavailable"}, "partial": True}
    assert state.outputs == result.outputs == {"o": expected}
    assert state.nodes["bad"].error == "ConnectionError: upstream unavailable"
    assert state.status == "succeeded"


async def test_subscriber_sees_live_events_then_the_stream_ends(registry):
    log = graphflow.EventLog()
    seen = []

    async def follow():
        async for event in log.subscribe():
            seen.append(event.kind)

    async with anyio.create_task_group() as tg:
        tg.start_soon(follow)
        await run_with(registry, graph(fn("a", "inc")), sinks=[log])
    assert seen == ["run_started", "node_started", "node_succeeded", "run_finished"]
    late = [e.kind async for e in log.subscribe()]
    assert late == seen


def test_run_sync_blocks_and_returns_the_result(registry):
    result = graphflow.run_sync(graph(fn("a", "inc")), registry=registry)
    assert result.ok and result.node_states == {"a": "succeeded"}


async def test_error_edge_routes_the_failure_to_a_fallback(registry):
    registry.register_function("backup", lambda err: {"from": "backup", "after": err["error_type"],
                                                       "input": err["input"]})
    spec = graph(node("c", "constant", value=7), fn("primary", "explode"), fn("fallback", "backup"),
                 fn("normal_next", "inc"), node("o", "output", name="o"),
                 edge("c", "primary"), edge("primary", "fallback", "error"), edge("primary", "normal_next"),
                 edge("fallback", "o"))
    result = await run_with(registry, spec)
    assert result.ok
    assert result.outputs == {"o": {"from": "backup", "after": "ConnectionError", "input": 7}}
    assert result.node_states["primary"] == "failed" and result.node_states["normal_next"] == "skipped"
    failed = next(e for e in result.events if e.kind == "node_failed")
    assert failed.handled is True


async def test_optional_node_degrades_to_its_default(registry):
    spec = graph(fn("enrich", "explode") | {"optional": True, "default_output": {"score": None}},
                 node("o", "output", name="o"), edge("enrich", "o"))
    result = await run_with(registry, spec)
    assert result.ok and result.outputs == {"o": {"score": None}}
    assert result.degraded == ["enrich"]
    done = next(e for e in result.events if e.kind == "node_succeeded" and e.node_id == "enrich")
    assert done.degraded and done.error == "ConnectionError: upstream unavailable"
    assert result.events[-1].degraded == ["enrich"]


async def test_stop_node_ends_the_run_early(registry):
    spec = graph(node("in", "input", name="score", type="number"), node("check", "condition", expression="value < 0.5"),
                 node("stop", "stop", status="succeeded", reason="quality too low", output_name="verdict"),
                 fn("slow", "hang"), fn("expensive", "inc"), node("o", "output", name="o"),
                 edge("in", "check"), edge("check", "stop", "true"), edge("check", "expensive", "false"),
                 edge("expensive", "o"))
    result = await run_with(registry, spec, {"score": 0.2})
    assert result.status == "succeeded" and result.stopped_early == "quality too low"
    assert result.outputs == {"verdict": 0.2}
    assert result.node_states["slow"] == "cancelled"
    assert result.node_states["expensive"] == "skipped"
    assert graphflow.RunState.from_events(result.events).nodes["slow"].status == "cancelled"


async def test_a_cancel_before_the_run_starts_is_delivered_when_it_starts(registry):
    control = graphflow.RunControl()
    control.cancel("changed my mind")
    spec = graph(fn("a", "hang"))
    result = await Runner(graphflow.validate_graph(spec, registry)).run(control=control)
    assert result.status == "cancelled" and result.events[-1].reason == "changed my mind"
    assert control.cancelled


async def test_a_lone_async_node_awaited_by_the_loop_is_cancelled_by_the_control(registry):
    """One async node and nothing else running: the loop awaits it itself; a cancel still ends it."""
    control = graphflow.RunControl()
    spec = graph(fn("h", "hang"), fn("after", "inc"), edge("h", "after"))
    log = graphflow.EventLog()

    async def cancel_when_running():
        async for event in log.subscribe():
            if event.kind == "node_started" and event.node_id == "h":
                await anyio.lowlevel.checkpoint()
                control.cancel("stop")

    async with anyio.create_task_group() as tg:
        tg.start_soon(cancel_when_running)
        result = await Runner(graphflow.validate_graph(spec, registry), sinks=[log]).run(control=control)
    assert result.status == "cancelled" and result.node_states == {"h": "cancelled", "after": "cancelled"}
    assert [e.kind for e in result.events].count("node_cancelled") == 2


async def test_a_long_chain_of_instant_nodes_lets_other_tasks_run(registry):
    async def instant(v):
        return (v or 0) + 1

    registry.register_function("instant", instant)
    ids = [f"n{i}" for i in range(100)]
    spec = graph(*(fn(i, "instant") for i in ids), *(edge(a, b) for a, b in zip(ids, ids[1:], strict=False)))
    ticks = 0

    async def ticker():
        nonlocal ticks
        while True:
            ticks += 1
            await anyio.lowlevel.checkpoint()

    async with anyio.create_task_group() as tg:
        tg.start_soon(ticker)
        result = await Runner(graphflow.validate_graph(spec, registry)).run()
        tg.cancel_scope.cancel()
    assert result.ok and ticks >= 100 // 16
