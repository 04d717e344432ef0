"""A function that takes ``ctx`` reports through it while it runs (progress, sub-graphs);
one that takes none gets no reporting hooks (the runner skips making them)."""

from __future__ import annotations

import pytest
from graphs import edge, fn, graph, node

import graphflow
from graphflow.runner import Runner

pytestmark = pytest.mark.anyio


async def test_a_function_taking_ctx_reports_progress_and_runs_a_subgraph():
    registry = graphflow.default_registry(installed=False)
    inner = graphflow.validate_graph(graph(node("i", "input", name="v", type="integer"),
                                           node("o", "output", name="doubled"), edge("i", "o")), registry)

    async def counted(value, ctx):
        ctx.progress(1, 0, 2)
        sub = await ctx.run_subgraph(inner, {"v": value})
        ctx.progress(2, 0, 2)
        return sub.outputs["doubled"] * 2

    async def plain(value):
        return value + 1

    registry.register_function("counted", counted)
    registry.register_function("plain", plain)
    compiled = graphflow.validate_graph(graph(
        node("c", "constant", value=3), fn("f", "counted"), fn("p", "plain"), node("o", "output", name="o"),
        edge("c", "f"), edge("f", "p"), edge("p", "o")), registry)
    runner = Runner(compiled)
    assert "f" in runner.hooked and "p" not in runner.hooked
    result = await runner.run()
    assert result.ok and result.outputs == {"o": 7}
    progress = [(e.done, e.total) for e in result.events if e.kind == "map_progress"]
    assert progress == [(1, 2), (2, 2)]
