"""Retries, breakers, caching and usage through the real runner, on a fake clock."""

from __future__ import annotations

import random

import anyio
import pytest
from graphs import edge, fn, graph, node

import graphflow
from graphflow.clock import FakeClock
from graphflow.resilience import BreakerRegistry
from graphflow.runner import Runner

pytestmark = pytest.mark.anyio


class Flaky:
    """Fails ``failures`` times, then succeeds."""

    def __init__(self, failures: int, error: type[Exception] = ConnectionError) -> None:
        self.failures, self.calls, self.error = failures, 0, error

    def __call__(self, value):
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error(f"call {self.calls} failed")
        return {"ok": self.calls}


class DictKV:
    def __init__(self) -> None:
        self.data: dict[tuple[str, str], tuple[object, float | None]] = {}

    async def put(self, namespace, key, value, expires_at=None):
        self.data[namespace, key] = (value, expires_at)

    async def get(self, namespace, key, now=None):
        value, expires = self.data.get((namespace, key), (None, None))
        return None if expires is not None and now is not None and now >= expires else value

    async def items(self, namespace):
        return {k: v for (ns, k), (v, _) in self.data.items() if ns == namespace}


async def run_on_clock(registry, spec, clock, inputs=None, **kw):
    compiled = graphflow.validate_graph(spec, registry)
    async with anyio.create_task_group() as tg:
        tg.start_soon(clock.autojump)
        result = await Runner(compiled, clock=clock, **kw).run(inputs)
        tg.cancel_scope.cancel()
    return result


RETRY = {"max_attempts": 4, "base_delay": 1, "max_delay": 10, "retry_on": ["ConnectionError"]}


async def test_retries_with_backoff_until_success():
    registry = graphflow.default_registry(installed=False)
    flaky = Flaky(2)
    registry.register_function("flaky", flaky)
    clock = FakeClock()
    spec = graph(fn("call", "flaky") | {"retry": RETRY}, node("o", "output", name="o"), edge("call", "o"))
    result = await run_on_clock(registry, spec, clock, rng=random.Random(7))
    assert result.ok and result.outputs == {"o": {"ok": 3}} and flaky.calls == 3
    retries = [e for e in result.events if e.kind == "node_retrying"]
    assert [r.attempt for r in retries] == [1, 2]
    assert retries[0].error_message == "call 1 failed"
    assert 0 <= retries[0].delay <= 1 and 0 <= retries[1].delay <= 2
    starts = [e.attempt for e in result.events if e.kind == "node_started" and e.node_id == "call"]
    assert starts == [1, 2, 3]
    done = next(e for e in result.events if e.kind == "node_succeeded" and e.node_id == "call")
    assert done.attempt == 3
    assert clock.monotonic() == pytest.approx(retries[0].delay + retries[1].delay)
    state = graphflow.RunState.from_events(result.events)
    assert state.nodes["call"].retries == 2 and state.nodes["call"].attempts == 3


async def test_non_retryable_error_is_attempted_once():
    registry = graphflow.default_registry(installed=False)
    flaky = Flaky(5, error=ValueError)
    registry.register_function("flaky", flaky)
    result = await run_on_clock(registry, graph(fn("call", "flaky") | {"retry": RETRY}), FakeClock())
    assert result.status == "failed" and flaky.calls == 1
    assert not [e for e in result.events if e.kind == "node_retrying"]


async def test_attempt_timeout_is_retried():
    registry = graphflow.default_registry(installed=False)
    calls = []

    async def slow_then_fast(value):
        calls.append(1)
        if len(calls) == 1:
            await anyio.sleep_forever()
        return "fast"

    registry.register_function("slow", slow_then_fast)
    retry = {"max_attempts": 2, "base_delay": 0, "attempt_timeout": 5}
    result = await run_on_clock(registry, graph(fn("call", "slow") | {"retry": retry}), FakeClock())
    assert result.ok and len(calls) == 2
    retry_event = next(e for e in result.events if e.kind == "node_retrying")
    assert retry_event.error_type == "NodeTimeout"


async def test_breaker_opens_is_shared_by_runs_and_stops_retries_at_once():
    registry = graphflow.default_registry(installed=False)
    calls = []

    def down(value):
        calls.append(1)
        raise ConnectionError("crm down")

    registry.register_function("down", down)
    clock = FakeClock()
    breakers = BreakerRegistry(clock)
    breaker = {"name": "crm-api", "failure_threshold": 3, "reset_timeout": 60}
    spec = graph(fn("call", "down") | {"retry": RETRY | {"max_attempts": 10}, "breaker": breaker})
    first = await run_on_clock(registry, spec, clock, breakers=breakers)
    assert first.status == "failed" and len(calls) == 3
    assert first.error.startswith("BreakerOpen")
    changed = [e for e in first.events if e.kind == "breaker_changed"]
    assert [(c.from_state, c.to_state) for c in changed] == [("closed", "open")]
    assert breakers.states() == {"crm-api": "open"}
    # A second run with the same breakers fails fast without calling the resource.
    second = await run_on_clock(registry, spec, clock, breakers=breakers)
    assert second.status == "failed" and len(calls) == 3
    assert not [e for e in second.events if e.kind == "node_retrying"]


async def test_breaker_half_open_probe_closes_it():
    registry = graphflow.default_registry(installed=False)
    flaky = Flaky(2)
    registry.register_function("flaky", flaky)
    clock = FakeClock()
    breakers = BreakerRegistry(clock)
    spec = graph(fn("call", "flaky") | {"breaker": {"name": "erp", "failure_threshold": 2, "reset_timeout": 30}})
    for _ in range(2):
        assert (await run_on_clock(registry, spec, clock, breakers=breakers)).status == "failed"
    clock.advance(31)
    result = await run_on_clock(registry, spec, clock, breakers=breakers)
    assert result.ok
    changes = [(e.from_state, e.to_state) for e in result.events if e.kind == "breaker_changed"]
    assert changes == [("open", "half_open"), ("half_open", "closed")]


async def test_cache_hit_skips_the_call_and_is_an_event():
    registry = graphflow.default_registry(installed=False)
    calls = []
    registry.register_function("expensive", lambda v: calls.append(v) or v * 2)
    spec = graph(node("in", "input", name="x"), fn("call", "expensive") | {"cache": {"enabled": True, "ttl": 60}},
                 node("o", "output", name="o"), edge("in", "call"), edge("call", "o"))
    clock, kv = FakeClock(), DictKV()
    results = [await run_on_clock(registry, spec, clock, {"x": x}, cache=kv) for x in (2, 2, 3)]
    assert [r.outputs["o"] for r in results] == [4, 4, 6] and calls == [2, 3]
    cached = [next(e for e in r.events if e.kind == "node_succeeded" and e.node_id == "call").cached for r in results]
    assert cached == [False, True, False]
    clock.advance(61)
    await run_on_clock(registry, spec, clock, {"x": 2}, cache=kv)
    assert calls == [2, 3, 2]


async def test_usage_is_reported_per_node_and_totalled():
    registry = graphflow.default_registry(installed=False)

    def llm(value, ctx):
        ctx.report_usage(cost=0.002, tokens=150)
        return "answer"

    registry.register_function("llm", llm)
    result = await run_on_clock(registry, graph(fn("a", "llm"), fn("b", "llm")), FakeClock())
    assert result.tokens == 300 and result.cost == pytest.approx(0.004)
    assert result.events[-1].tokens == 300
    node_done = [e for e in result.events if e.kind == "node_succeeded"]
    assert all(e.cost == pytest.approx(0.002) for e in node_done)
