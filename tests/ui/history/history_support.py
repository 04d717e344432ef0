"""What the history/replay/stats tests share: a small graph whose functions report every
call (so a test can check that replay calls none), and runs stored through a Workspace."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import graphflow
from graphflow.service import Workspace

GRAPH_ID = "hist"
GRAPH: dict[str, Any] = {
    "schema_version": 1, "id": GRAPH_ID, "name": "History demo",
    "nodes": [
        {"id": "in", "kind": "input", "label": "Number", "config": {"name": "x", "type": "integer"},
         "position": {"x": 0, "y": 0}},
        {"id": "count", "kind": "function", "label": "Count (flaky above 50)", "config": {"function": "hist.count"},
         "retry": {"max_attempts": 3, "base_delay": 0.01, "max_delay": 0.01, "retry_on": ["ConnectionError"]},
         "breaker": {"name": "hist-api", "failure_threshold": 5}, "position": {"x": 260, "y": 0}},
        {"id": "check", "kind": "function", "label": "Check the limit",
         "config": {"function": "hist.check", "args": {"limit": 100}}, "position": {"x": 520, "y": 0}},
        {"id": "out", "kind": "output", "label": "Result", "config": {"name": "result"},
         "position": {"x": 780, "y": 0}},
    ],
    "edges": [
        {"id": "e1", "source": "in", "target": "count"},
        {"id": "e2", "source": "count", "target": "check"},
        {"id": "e3", "source": "check", "target": "out"},
    ],
}


def graph_v2() -> dict[str, Any]:
    """Version 2: the limit is raised, so a failed run resumed on it succeeds."""
    spec = copy.deepcopy(GRAPH)
    spec["nodes"][2]["config"]["args"]["limit"] = 1000
    return spec


def register(registry: graphflow.Registry, record: Callable[[str], None]) -> None:
    """The graph's functions; ``record(name)`` is called on every call."""

    def count(value: int, ctx: Any) -> int:
        record("count")
        if value >= 50 and ctx.attempt < 2:
            raise ConnectionError("counter busy")
        return value + 1

    def check(value: int, limit: int = 100) -> int:
        record("check")
        if value > limit:
            raise ValueError(f"{value} is over the limit {limit}")
        return value

    registry.register_function("hist.count", count)
    registry.register_function("hist.check", check)


def registry_with(record: Callable[[str], None]) -> graphflow.Registry:
    registry = graphflow.default_registry(installed=False)
    register(registry, record)
    return registry


async def seed(workspace: Workspace) -> dict[str, str]:
    """Store the graph and three runs: ok (x=1), retried (x=60), failed (x=200). Run ids by name."""
    await workspace.save(graphflow.load_graph(GRAPH))
    ids = {}
    for name, x in (("ok", 1), ("retried", 60), ("failed", 200)):
        result = await workspace.run(GRAPH_ID, {"x": x})
        ids[name] = result.run_id
    return ids
