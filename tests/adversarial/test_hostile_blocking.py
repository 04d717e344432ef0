"""Blocking functions that never return: timeouts fire on schedule, the thread is abandoned
(and said so), the run goes on, and abandoned threads are capped."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

import graphflow
from graphflow import threads

pytestmark = pytest.mark.anyio


def node(node_id: str, kind: str, **config: Any) -> dict[str, Any]:
    extra = config.pop("_node", {})
    return {"id": node_id, "kind": kind, "config": config, **extra}


def edge(source: str, target: str, source_port: str = "out") -> dict[str, Any]:
    return {"id": f"{source}.{source_port}-{target}", "source": source, "source_port": source_port,
            "target": target, "target_port": "in"}


def graph(*items: dict[str, Any]) -> dict[str, Any]:
    return {"schema_version": 1, "id": "stuck", "nodes": [i for i in items if "kind" in i],
            "edges": [i for i in items if "source" in i]}


def settle_abandoned_threads() -> None:
    for _ in range(500):
        if threads.abandoned_threads() == 0:
            return
        threading.Event().wait(0.01)


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """Stuck functions wait on this; set at the end so no thread outlives the test."""
    event = threading.Event()
    yield event
    event.set()


@pytest.fixture
def registry(release: threading.Event) -> graphflow.Registry:
    reg = graphflow.default_registry(installed=False)

    def stuck(value):
        release.wait()
        return value

    reg.register_function("stuck", stuck)
    reg.register_function("quick_stuck", stuck, non_blocking=True)
    reg.register_function("rescue", lambda err: err["message"], non_blocking=True)
    return reg


@pytest.mark.parametrize("function", ["stuck", "quick_stuck"])
@pytest.mark.parametrize("policy", [{"timeout": 0.2}, {"retry": {"attempt_timeout": 0.2}}])
async def test_timeout_abandons_the_thread_and_the_run_fails(registry, function, policy):
    spec = graph(node("c", "constant", value=1), node("s", "function", function=function, _node=policy),
                 node("o", "output", name="o"), edge("c", "s"), edge("s", "o"))
    result = await graphflow.run(spec, registry=registry)
    assert result.status == "failed" and result.failed_node == "s"
    failed = next(e for e in result.events if e.kind == "node_failed")
    assert failed.error_type == "NodeTimeout"
    assert "abandoned" in failed.error_message


async def test_retries_then_the_error_edge_apply(registry):
    spec = graph(node("c", "constant", value=1),
                 node("s", "function", function="stuck",
                      _node={"retry": {"max_attempts": 2, "base_delay": 0, "attempt_timeout": 0.2}}),
                 node("fix", "function", function="rescue"), node("o", "output", name="o"),
                 edge("c", "s"), edge("s", "fix", "error"), edge("fix", "o"))
    result = await graphflow.run(spec, registry=registry)
    assert result.ok and "timed out after 0.2s" in result.outputs["o"]
    assert [e.attempt for e in result.events if e.kind == "node_retrying"] == [1]


async def test_abandoned_threads_are_capped(registry, monkeypatch, release):
    settle_abandoned_threads()  # earlier tests released theirs; let them finish
    baseline = threads.abandoned_threads()
    monkeypatch.setattr(threads, "MAX_ABANDONED_THREADS", baseline + 2)
    spec = graph(node("c", "constant", value=1), node("s", "function", function="stuck", _node={"timeout": 0.1}),
                 edge("c", "s"))
    errors = [next(e for e in (await graphflow.run(spec, registry=registry)).events if e.kind == "node_failed")
              for _ in range(3)]
    assert [e.error_type for e in errors] == ["NodeTimeout", "NodeTimeout", "TooManyAbandonedThreads"]
    assert "limit" in errors[2].error_message
    release.set()  # the stuck threads finish, and the count goes back down
    settle_abandoned_threads()
    assert threads.abandoned_threads() == baseline
    result = await graphflow.run(graph(node("c", "constant", value=1),
                                       node("s", "function", function="stuck", _node={"timeout": 5}),
                                       node("o", "output", name="o"), edge("c", "s"), edge("s", "o")),
                                 registry=registry)
    assert result.ok
