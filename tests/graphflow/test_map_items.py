"""Map items: a key per item, fail-fast partial results, the sub-graph through the node context."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import graphflow
import graphflow.nodes.map as map_module

pytestmark = pytest.mark.anyio


def map_graph(**config):
    return {"schema_version": 1, "id": "m", "nodes": [
        {"id": "in", "kind": "input", "config": {"name": "items", "type": "array"}},
        {"id": "m", "kind": "map", "config": config},
        {"id": "o", "kind": "output", "config": {"name": "o"}}],
        "edges": [{"id": "e1", "source": "in", "target": "m"}, {"id": "e2", "source": "m", "target": "o"}]}


async def test_each_item_has_its_own_idempotency_key():
    registry = graphflow.default_registry(installed=False)
    keys = []

    async def record(x, ctx):
        keys.append(ctx.idempotency_key)
        return x

    registry.register_function("record", record)
    result = await graphflow.run(map_graph(function="record"), {"items": [10, 20, 30]}, registry=registry,
                                 run_id="r1")
    assert result.ok and sorted(keys) == ["r1:m:0", "r1:m:1", "r1:m:2"]


async def test_fail_fast_keeps_the_partial_results_beside_the_error():
    registry = graphflow.default_registry(installed=False)

    def square_until_five(x):
        if x == 5:
            raise ValueError("five")
        return x * x

    registry.register_function("sq", square_until_five, non_blocking=True)
    registry.register_function("rescue", lambda err: err["partial"], non_blocking=True)
    spec = map_graph(function="sq", fail_fast=True, concurrency=1)
    result = await graphflow.run(spec, {"items": list(range(8))}, registry=registry)
    assert result.status == "failed"
    failed = next(e for e in result.events if e.kind == "node_failed")
    assert failed.partial == {str(i): i * i for i in range(5)}
    spec["nodes"].append({"id": "fix", "kind": "function", "config": {"function": "rescue"}})
    spec["nodes"].append({"id": "o2", "kind": "output", "config": {"name": "o2"}})
    spec["edges"] += [{"id": "e3", "source": "m", "source_port": "error", "target": "fix"},
                      {"id": "e4", "source": "fix", "target": "o2"}]
    result = await graphflow.run(spec, {"items": list(range(8))}, registry=registry)
    assert result.ok and result.outputs["o2"] == {str(i): i * i for i in range(5)}


async def test_finished_items_are_in_the_progress_events():
    registry = graphflow.default_registry(installed=False)
    registry.register_function("double", lambda x: 2 * x, non_blocking=True)
    result = await graphflow.run(map_graph(function="double"), {"items": list(range(600))}, registry=registry)
    recorded = {}
    for e in result.events:
        if e.kind == "map_progress":
            recorded.update(e.results)
    assert recorded == {str(i): 2 * i for i in range(600)}


def test_node_kinds_never_import_the_runner_or_the_api():
    for path in Path(map_module.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                assert node.module not in ("graphflow.runner", "graphflow.api"), path
