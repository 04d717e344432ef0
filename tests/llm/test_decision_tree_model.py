"""The decision tree sample with a real model server: provider ``sample`` pointed at the local
OpenAI-compatible server (what ``GRAPHFLOW_LLM_BASE_URL`` does for a user). The model's label
routes when it is sure; the keyword rules decide when it is unsure, unreachable or answers with
no label, and the run still succeeds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from llm_server import Reply

import graphflow
import graphflow.sample_graphs
from graphflow import default_registry

pytestmark = pytest.mark.anyio

TREE = Path(graphflow.sample_graphs.__file__).parent / "decision_tree.json"
SHIPPING = {"customer_id": "C002", "message": "Do you ship to Canada?"}  # the keyword rules say: other


@pytest.fixture(autouse=True)
def point_sample(llm_server, monkeypatch):
    monkeypatch.setenv("GRAPHFLOW_LLM_BASE_URL", llm_server.url)


def label(name: str, confidence: float) -> Reply:
    return Reply(json.dumps({"label": name, "confidence": confidence}))


async def run(inquiry):
    return await graphflow.run(TREE, {"inquiry": inquiry}, registry=default_registry())


def intent(result):
    (done,) = [e for e in result.events if e.kind == "node_succeeded" and e.node_id == "classify"]
    return done.output["out"]


async def test_a_sure_model_routes(llm_server):
    llm_server.push(label("billing", 0.9))
    result = await run(SHIPPING)
    assert result.ok, result.error
    assert result.outputs["decision"]["team"] == "billing"  # the model's, not the rules' 'other'
    assert (intent(result)["intent"], intent(result)["intent_by"]) == ("billing", "model")
    (request,) = llm_server.requests
    assert request.body["messages"][-1]["content"] == SHIPPING["message"]
    assert request.body["response_format"]["json_schema"]["schema"]["properties"]["label"]["enum"] == [
        "refund", "technical", "billing", "other"]


@pytest.mark.parametrize(("reply", "error_type"), [
    (label("billing", 0.4), "ModelUnsure"),
    (Reply(status=503, error="overloaded"), "ModelUnavailable"),
    (label("shipping", 0.99), "ModelOutputInvalid"),
], ids=["unsure", "unavailable", "no-label"])
async def test_the_rules_decide_when_the_model_cannot(llm_server, reply, error_type):
    llm_server.push(reply)
    result = await run(SHIPPING)
    assert result.ok, result.error
    assert result.outputs["decision"]["team"] == "general"
    chosen = intent(result)
    assert (chosen["intent"], chosen["intent_by"]) == ("other", "rules")
    assert chosen["model_error"].startswith(error_type)
    assert [(e.node_id, e.error_type) for e in result.events if e.kind == "node_failed"] == [("model", error_type)]
    assert len(llm_server.requests) == 1  # no retry policy: one call, then the rules


async def test_an_unreachable_server_falls_back(monkeypatch):
    monkeypatch.setenv("GRAPHFLOW_LLM_BASE_URL", "http://127.0.0.1:9/v1")  # discard port: nothing listens
    result = await run({"customer_id": "C001", "message": "refund please", "order_id": "A-100"})
    assert result.ok, result.error
    assert result.outputs["decision"]["action"] == "auto_approve"
    assert intent(result)["intent_by"] == "rules" and "cannot reach" in intent(result)["model_error"]
