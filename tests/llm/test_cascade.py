"""Cascades: the node's cheaper model answers first; the larger one only when that answer's
confidence is below the threshold or it fails validation. Usage says who answered and the cost saved."""

from __future__ import annotations

import math

import pytest
from helpers import llm_graph, point_providers
from llm_server import Reply, prompt_tokens

import graphflow

pytestmark = pytest.mark.anyio

CASCADE = {"model": "small", "stream": False, "cascade": {"model": "large", "min_confidence": 0.8}}


@pytest.fixture(autouse=True)
def provider(llm_server):
    point_providers(llm_server, secret=None)  # small: 1/2 USD per 1M tokens in/out, large: 10/20


async def test_a_confident_cheap_answer_stands_and_saves_the_larger_price(llm_server):
    llm_server.push(Reply("Paris is the capital", logprobs=[("Paris", math.log(0.99)), (" is", math.log(0.95))]))
    result = await graphflow.run(llm_graph(CASCADE), {"question": "Capital of France?"})
    assert result.ok, result.error
    assert [r.body["model"] for r in llm_server.requests] == ["small"]
    usage = result.outputs["usage"]
    assert usage["cascade"]["answered_by"] == "small" and usage["cascade"]["calls"] == 1
    tokens_in, tokens_out = usage["tokens_in"], usage["tokens_out"]
    expected = (tokens_in * 10 + tokens_out * 20 - tokens_in * 1 - tokens_out * 2) / 1e6
    assert usage["cascade"]["saved"] == pytest.approx(expected)
    assert usage["confidence"] == pytest.approx(math.sqrt(0.99 * 0.95), abs=1e-5)


async def test_low_confidence_goes_to_the_larger_model(llm_server):
    llm_server.push(Reply("Lyon?", logprobs=[("Lyon", math.log(0.3)), ("?", math.log(0.5))]), Reply("Paris"))
    result = await graphflow.run(llm_graph(CASCADE), {"question": "Capital of France?"})
    assert result.outputs["answer"] == "Paris"
    assert [r.body["model"] for r in llm_server.requests] == ["small", "large"]
    assert llm_server.requests[0].body["logprobs"] is True and "logprobs" not in llm_server.requests[1].body
    usage = result.outputs["usage"]
    cheap_in = prompt_tokens(llm_server.requests[0].body)
    cheap_cost = (cheap_in * 1 + 1 * 2) / 1e6  # "Lyon?" is one token (a word)
    assert usage["cascade"] == {"answered_by": "large", "calls": 2, "saved": pytest.approx(-cheap_cost)}
    assert usage["cost"] == pytest.approx(cheap_cost + (cheap_in * 10 + 1 * 20) / 1e6)


async def test_a_reply_that_fails_validation_goes_to_the_larger_model(llm_server):
    config = {"model": "small", "stream": False, "output_fields": {"city": "string"}, "cascade": {"model": "large"}}
    llm_server.push(Reply("not json"), Reply('{"city": "Paris"}'))
    result = await graphflow.run(llm_graph(config, out_port="data"), {"question": "Capital?"})
    assert result.ok, result.error
    assert result.outputs["answer"] == {"city": "Paris"}
    assert result.outputs["usage"]["cascade"]["answered_by"] == "large"
