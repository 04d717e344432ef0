"""An error edge with a condition is taken only when the condition holds on the error payload."""

from __future__ import annotations

import pytest
from graphs import edge, fn, graph, node

import graphflow

pytestmark = pytest.mark.anyio


@pytest.fixture
def registry() -> graphflow.Registry:
    reg = graphflow.default_registry(installed=False)

    def explode(v):
        raise ConnectionError("upstream unavailable")

    reg.register_function("explode", explode)
    reg.register_function("tag", lambda err: f"handled {err['error_type']}")
    return reg


def spec(condition: str):
    return graph(node("c", "constant", value=7), fn("primary", "explode"), fn("fallback", "tag"),
                 node("o", "output", name="o"), edge("c", "primary"),
                 edge("primary", "fallback", "error", condition=condition), edge("fallback", "o"))


async def test_error_edge_taken_when_its_condition_holds(registry):
    result = await graphflow.run(graphflow.validate_graph(spec("error_type == 'ConnectionError' and input == 7"),
                                                          registry))
    assert result.ok and result.outputs == {"o": "handled ConnectionError"}


async def test_error_edge_not_taken_when_its_condition_fails(registry):
    result = await graphflow.run(graphflow.validate_graph(spec("error_type == 'TimeoutError'"), registry))
    assert result.status == "failed" and result.failed_node == "primary"
    assert result.node_states["fallback"] != "succeeded"
    failed = next(e for e in result.events if e.kind == "node_failed")
    assert failed.handled is False


async def test_optional_node_with_an_unmet_error_condition_degrades(registry):
    s = spec("message == 'something else'")
    s["nodes"][1] |= {"optional": True, "default_output": "dflt"}
    s["nodes"].append(node("o2", "output", name="o2"))
    s["edges"].append(edge("primary", "o2"))
    result = await graphflow.run(graphflow.validate_graph(s, registry))
    assert result.ok and result.outputs.get("o2") == "dflt" and result.degraded == ["primary"]


async def test_edges_taken_lists_only_the_error_edges_whose_condition_held(registry):
    s = spec("error_type == 'ConnectionError'")
    s["nodes"] += [fn("other", "tag"), node("o2", "output", name="o2")]
    s["edges"] += [edge("primary", "other", "error", condition="error_type == 'TimeoutError'"), edge("other", "o2")]
    result = await graphflow.run(graphflow.validate_graph(s, registry))
    failed = next(e for e in result.events if e.kind == "node_failed")
    taken = [e["id"] for e in s["edges"] if e["source"] == "primary" and e["target"] == "fallback"]
    assert result.ok and failed.handled and failed.edges_taken == taken
    assert result.node_states["other"] == "skipped"
