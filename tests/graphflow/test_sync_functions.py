"""A plain sync function runs in a worker thread unless registered non-blocking."""

from __future__ import annotations

import threading
import time

import anyio
import pytest
from graphs import edge, fn, graph, node

import graphflow

pytestmark = pytest.mark.anyio


async def test_a_sleeping_sync_function_does_not_block_the_loop():
    registry = graphflow.default_registry(installed=False)
    sleeping, woke = threading.Event(), threading.Event()

    def slow(value):  # registered the way the README shows: no flags
        sleeping.set()
        time.sleep(1.5)
        woke.set()
        return value

    registry.register_function("slow", slow)
    spec = graph(node("c", "constant", value=1), fn("s", "slow"), node("o", "output", name="o"),
                 edge("c", "s"), edge("s", "o"))
    ticks_while_sleeping = 0

    async def ticker():
        nonlocal ticks_while_sleeping
        while not woke.is_set():
            await anyio.sleep(0.02)
            if sleeping.is_set() and not woke.is_set():
                ticks_while_sleeping += 1

    async with anyio.create_task_group() as tg:
        tg.start_soon(ticker)
        result = await graphflow.run(spec, registry=registry)
    assert result.ok and result.outputs == {"o": 1}
    assert ticks_while_sleeping >= 3  # the loop kept running while the function slept


def test_sync_functions_run_in_a_thread_unless_non_blocking():
    registry = graphflow.default_registry(installed=False)
    where: dict[str, str] = {}

    def record(name):
        def f(value):
            where[name] = threading.current_thread().name
            return value
        return f

    registry.register_function("plain", record("plain"))
    registry.register_function("fast", record("fast"), non_blocking=True)
    assert registry.functions["plain"].blocking and not registry.functions["fast"].blocking
    spec = graph(node("c", "constant", value=1), fn("a", "plain"), fn("b", "fast"), edge("c", "a"), edge("a", "b"))
    compiled = graphflow.validate_graph(spec, registry)
    assert not compiled.nodes["a"].inline and compiled.nodes["b"].inline
    assert graphflow.run_sync(compiled).ok
    main = threading.current_thread().name
    assert where["plain"] != main and where["fast"] == main


def test_async_functions_are_never_blocking_and_flags_conflict():
    registry = graphflow.default_registry(installed=False)

    async def a(value):
        return value

    assert not registry.register_function("a", a).blocking
    with pytest.raises(graphflow.errors.RegistryError):
        registry.register_function("b", lambda v: v, blocking=True, non_blocking=True)
