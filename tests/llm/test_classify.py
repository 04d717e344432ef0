"""The classifier node against the local OpenAI-compatible server: a label and a confidence from
log-probabilities, or from a JSON reply when the server sends none."""

from __future__ import annotations

import math

import pytest
from helpers import point_providers
from llm_server import Reply

import graphflow
from graphflow.errors import GraphValidationError

pytestmark = pytest.mark.anyio

LABELS = ["refund", "order_status", "other"]


def classify_graph(**config):
    return {"schema_version": 1, "id": "c", "nodes": [
        {"id": "text", "kind": "input", "config": {"name": "text", "type": "string"}},
        {"id": "cls", "kind": "classify", "config": {"provider": "fake", "labels": LABELS,
                                                      "descriptions": {"refund": "wants money back"}, **config}},
        *({"id": name, "kind": "output", "config": {"name": name}} for name in ("label", "confidence", "usage"))],
        "edges": [{"id": "e", "source": "text", "target": "cls", "target_port": "text"},
                  *({"id": f"e_{name}", "source": "cls", "source_port": name, "target": name}
                    for name in ("label", "confidence", "usage"))]}


@pytest.fixture(autouse=True)
def provider(llm_server):
    point_providers(llm_server, secret=None)


async def test_label_and_confidence_from_logprobs(llm_server):
    llm_server.push(Reply("refund", logprobs=[("ref", math.log(0.9)), ("und", math.log(0.95))]))
    result = await graphflow.run(classify_graph(), {"text": "I want my money back"})
    assert result.ok, result.error
    assert result.outputs["label"] == "refund"
    assert result.outputs["confidence"] == pytest.approx(0.9 * 0.95, abs=1e-6)
    body = llm_server.requests[0].body
    assert body["logprobs"] is True and body["temperature"] == 0
    assert "- refund: wants money back" in body["messages"][0]["content"]
    assert body["messages"][1]["content"] == "I want my money back"
    assert result.outputs["usage"]["calls"] == 1


async def test_a_server_without_logprobs_is_asked_for_json(llm_server):
    llm_server.push(Reply("order_status"), Reply('{"label": "order_status", "confidence": 0.7}'))
    result = await graphflow.run(classify_graph(), {"text": "where is my parcel"})
    assert result.ok, result.error
    assert (result.outputs["label"], result.outputs["confidence"]) == ("order_status", 0.7)
    assert llm_server.requests[1].body["response_format"]["json_schema"]["schema"]["properties"]["label"]["enum"] \
        == LABELS
    assert result.outputs["usage"]["calls"] == 2


async def test_json_method_makes_one_call(llm_server):
    llm_server.push(Reply('{"label": "other", "confidence": 0.4}'))
    result = await graphflow.run(classify_graph(method="json"), {"text": "hello"})
    assert (result.outputs["label"], result.outputs["confidence"]) == ("other", 0.4)
    assert len(llm_server.requests) == 1


async def test_an_answer_outside_the_labels_is_retried_then_fails_saying_so(llm_server):
    llm_server.push(Reply("complaint", logprobs=[("complaint", -0.1)]),
                    Reply("Refund.", logprobs=[("Refund", -0.2), (".", -0.01)]))
    graph = classify_graph()
    graph["nodes"][1]["retry"] = {"max_attempts": 2, "base_delay": 0.01}
    result = await graphflow.run(graph, {"text": "x"})
    assert result.ok and result.outputs["label"] == "refund"  # case and punctuation do not matter
    retried = [e for e in result.events if e.kind == "node_retrying"]
    assert len(retried) == 1 and "'complaint' is not one of the labels" in retried[0].error_message

    llm_server.push(Reply('{"label": "complaint", "confidence": 0.9}'))
    failed = await graphflow.run(classify_graph(method="json"), {"text": "x"})
    assert failed.status == "failed" and "ModelOutputInvalid" in (failed.error or "")


def test_labels_are_checked_at_validation():
    with pytest.raises(GraphValidationError) as info:
        graphflow.validate_graph(classify_graph(labels=["a", "A"]))
    assert "repeated: a" in str(info.value)
    with pytest.raises(GraphValidationError) as info:
        graphflow.validate_graph(classify_graph(descriptions={"nope": "?"}))
    assert "not labels: nope" in str(info.value)


async def test_label_routes_route_a_classification(llm_server):
    from graphflow.nodes.classify import label_routes

    graph = classify_graph()
    graph["nodes"].append({"id": "route", "kind": "router", "config": {"routes": label_routes(LABELS)}})
    graph["nodes"].append({"id": "refunds", "kind": "output", "config": {"name": "refunds"}})
    graph["edges"] += [{"id": "r1", "source": "cls", "source_port": "label", "target": "route"},
                       {"id": "r2", "source": "route", "source_port": "refund", "target": "refunds"}]
    llm_server.push(Reply("refund", logprobs=[("refund", -0.05)]))
    result = await graphflow.run(graph, {"text": "money back please"})
    assert result.ok, result.error
    assert result.outputs["refunds"] == "refund"
    assert [r["port"] for r in label_routes(["order status", "1x", "order-status"])] == \
        ["order_status", "_1x", "order_status_2"]
