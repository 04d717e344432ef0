"""Cascades on the classifier: the cheap model's label stands when it is confident enough; the
larger model decides when it is not, or when the cheap answer is not a label. Usage and stats
say who answered and what was saved."""

from __future__ import annotations

import math

import pytest
from helpers import point_providers
from llm_server import Reply, prompt_tokens
from test_classify import classify_graph

import graphflow
from graphflow.errors import GraphValidationError
from graphflow.stats import node_stats

pytestmark = pytest.mark.anyio

CASCADE = {"model": "small", "cascade": {"model": "large", "min_confidence": 0.8}}


@pytest.fixture(autouse=True)
def provider(llm_server):
    point_providers(llm_server, secret=None)  # small: 1/2 USD per 1M tokens in/out, large: 10/20


def sure(label: str, p: float) -> Reply:
    return Reply(label, logprobs=[(label, math.log(p))])


async def test_a_confident_cheap_label_stands(llm_server):
    llm_server.push(sure("refund", 0.95))
    result = await graphflow.run(classify_graph(**CASCADE), {"text": "money back please"})
    assert result.ok, result.error
    assert [r.body["model"] for r in llm_server.requests] == ["small"]
    assert (result.outputs["label"], result.outputs["confidence"]) == ("refund", pytest.approx(0.95, abs=1e-6))
    usage = result.outputs["usage"]
    tokens_in, tokens_out = prompt_tokens(llm_server.requests[0].body), 1
    assert (usage["tokens_in"], usage["tokens_out"], usage["calls"]) == (tokens_in, tokens_out, 1)
    saved = (tokens_in * 10 + tokens_out * 20 - tokens_in * 1 - tokens_out * 2) / 1e6
    assert usage["cascade"] == {"answered_by": "small", "calls": 1, "saved": pytest.approx(saved)}


async def test_an_unsure_cheap_label_goes_to_the_larger_model(llm_server):
    llm_server.push(sure("other", 0.4), sure("order_status", 0.9))
    result = await graphflow.run(classify_graph(**CASCADE), {"text": "where is it"})
    assert result.ok, result.error
    assert [r.body["model"] for r in llm_server.requests] == ["small", "large"]
    assert result.outputs["label"] == "order_status"
    usage = result.outputs["usage"]
    cheap_cost = (prompt_tokens(llm_server.requests[0].body) * 1 + 1 * 2) / 1e6
    assert usage["model"] == "large" and usage["calls"] == 2
    assert usage["cascade"] == {"answered_by": "large", "calls": 2, "saved": pytest.approx(-cheap_cost)}


async def test_a_cheap_answer_that_is_no_label_goes_to_the_larger_model(llm_server):
    llm_server.push(sure("banana", 0.99), sure("refund", 0.6))
    result = await graphflow.run(classify_graph(**CASCADE), {"text": "money back"})
    assert result.ok, result.error
    assert result.outputs["label"] == "refund"  # the larger model's, even below the threshold
    assert result.outputs["usage"]["cascade"]["answered_by"] == "large"


async def test_the_cheap_model_asked_twice_counts_as_one_stage(llm_server):
    """A server without log-probabilities: the cheap model is asked for JSON too, both calls its."""
    llm_server.push(Reply("refund"), Reply('{"label": "refund", "confidence": 0.5}'),
                    Reply("refund"), Reply('{"label": "refund", "confidence": 0.9}'))
    result = await graphflow.run(classify_graph(**CASCADE), {"text": "money back"})
    assert result.ok, result.error
    assert [r.body["model"] for r in llm_server.requests] == ["small", "small", "large", "large"]
    usage = result.outputs["usage"]
    cheap_cost = sum(prompt_tokens(r.body) * 1 for r in llm_server.requests[:2]) / 1e6 + (1 + 4) * 2 / 1e6
    assert usage["calls"] == 4 and usage["cascade"]["calls"] == 4
    assert usage["cascade"]["saved"] == pytest.approx(-cheap_cost)


async def test_stats_count_the_answers_per_model(llm_server):
    llm_server.push(sure("refund", 0.95), sure("other", 0.2), sure("other", 0.9), sure("refund", 0.99))
    runs = [await graphflow.run(classify_graph(**CASCADE), {"text": t}) for t in ("a", "b", "c")]
    assert all(r.ok for r in runs)
    (cls,) = [n for n in node_stats([r.events for r in runs]) if n.node_id == "cls"]
    assert cls.answered_by == {"small": 2, "large": 1}
    assert cls.saved == pytest.approx(sum(r.outputs["usage"]["cascade"]["saved"] for r in runs))


def test_a_cascade_needs_a_model():
    with pytest.raises(GraphValidationError, match="cascade"):
        graphflow.validate_graph(classify_graph(cascade={"min_confidence": 0.5}))


async def test_below_min_confidence_the_node_fails_unsure_and_is_not_retried(llm_server):
    graph = classify_graph(model="small", min_confidence=0.7)
    graph["nodes"][1]["retry"] = {"max_attempts": 3, "base_delay": 0}
    llm_server.push(sure("refund", 0.5))
    result = await graphflow.run(graph, {"text": "hmm"})
    assert not result.ok and result.failed_node == "cls"
    assert (result.error or "").startswith("ModelUnsure: the model's answer 'refund' has confidence 0.5")
    assert len(llm_server.requests) == 1
    (failed,) = [e for e in result.events if e.kind == "node_failed"]
    assert failed.cost > 0  # the call it made is still counted


async def test_min_confidence_applies_to_the_larger_models_answer(llm_server):
    llm_server.push(sure("other", 0.3), sure("refund", 0.75))
    result = await graphflow.run(classify_graph(min_confidence=0.7, **CASCADE), {"text": "money"})
    assert result.ok, result.error
    assert result.outputs["label"] == "refund"  # 0.75: below the cascade's 0.8, above the node's 0.7
