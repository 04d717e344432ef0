"""The LLM chat node against a real OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import json

import pytest
from helpers import llm_graph, point_providers
from llm_server import Reply

import graphflow
from graphflow.errors import GraphValidationError
from graphflow.nodes.llm import LLMConfig, LLMNode

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
def key(monkeypatch):
    monkeypatch.setenv("GRAPHFLOW_SECRET_FAKE", "sk-planted-secret-123")


async def test_prompt_variables_become_ports_and_fill_the_message(llm_server):
    point_providers(llm_server)
    llm_server.push(Reply("Paris is the capital.", usage=(12, 4)))
    graph = llm_graph({"system": "You answer about {topic}.", "prompt": "Q: {question}", "temperature": 0.2,
                       "max_tokens": 50, "stop": ["\n\n"], "seed": 7, "stream": False},
                      inputs=("topic", "question"))
    result = await graphflow.run(graph, {"topic": "geography", "question": "capital of France?"})
    assert result.ok, result.error
    assert result.outputs["answer"] == "Paris is the capital."
    assert result.outputs["usage"] == {"provider": "fake", "model": "small", "tokens_in": 12, "tokens_out": 4,
                                       "cost": pytest.approx((12 * 1.0 + 4 * 2.0) / 1e6)}
    body = llm_server.requests[0].body
    assert body["messages"] == [{"role": "system", "content": "You answer about geography."},
                                {"role": "user", "content": "Q: capital of France?"}]
    assert (body["model"], body["temperature"], body["max_tokens"], body["stop"], body["seed"]) == (
        "small", 0.2, 50, ["\n\n"], 7)
    assert llm_server.requests[0].headers["authorization"] == "Bearer sk-planted-secret-123"
    done = next(e for e in result.events if e.kind == "node_succeeded" and e.node_id == "llm")
    assert done.tokens == 16 and done.cost == pytest.approx(20 / 1e6)
    assert result.cost == pytest.approx(20 / 1e6)


def test_ports_follow_the_template():
    kind = LLMNode()
    config = LLMConfig(prompt="{customer.name} asks {question} ({count})", variable_types={"count": "integer"})
    assert [(p.name, p.type) for p in kind.input_ports(config)] == [
        ("customer", "object"), ("question", "string"), ("count", "integer")]
    assert [p.name for p in kind.output_ports(config)] == ["text", "usage"]
    assert [p.name for p in kind.output_ports(LLMConfig(output_fields={"x": "string"}))] == ["data", "usage"]


async def test_streaming_reply_gives_the_whole_text_and_usage(llm_server):
    point_providers(llm_server)
    llm_server.push(Reply("one two three four"))
    result = await graphflow.run(llm_graph({"prompt": "{question}"}), {"question": "count"})
    assert result.outputs["answer"] == "one two three four"
    assert result.outputs["usage"]["tokens_out"] == 4
    assert llm_server.requests[0].body["stream"] is True


async def test_structured_output_validates_and_a_bad_reply_is_retried_with_the_error(llm_server):
    point_providers(llm_server)
    llm_server.push(Reply('{"city": 3, "country": "FR"}'), Reply('```json\n{"city": "Paris", "country": "FR"}\n```'))
    graph = llm_graph({"prompt": "{question}", "output_fields": {"city": "string", "country": "string"}},
                      node={"retry": {"max_attempts": 2, "base_delay": 0}}, out_port="data")
    result = await graphflow.run(graph, {"question": "where?"})
    assert result.ok, result.error
    assert result.outputs["answer"] == {"city": "Paris", "country": "FR"}
    retry = next(e for e in result.events if e.kind == "node_retrying")
    assert retry.error_type == "ModelOutputInvalid"
    assert "city" in retry.error_message and "not of type 'string'" in retry.error_message
    rf = llm_server.requests[0].body["response_format"]
    assert rf["type"] == "json_schema" and rf["json_schema"]["schema"]["required"] == ["city", "country"]


async def test_invalid_reply_without_retries_fails_with_the_validation_error_in_the_event(llm_server):
    point_providers(llm_server)
    llm_server.push(Reply("not json at all"))
    graph = llm_graph({"prompt": "{question}", "output_schema": {"type": "object"}}, out_port="data")
    result = await graphflow.run(graph, {"question": "x"})
    failed = next(e for e in result.events if e.kind == "node_failed")
    assert failed.error_type == "ModelOutputInvalid" and "not JSON" in failed.error_message
    assert failed.partial is not None and failed.partial["reply"] == "not json at all"
    assert failed.tokens > 0  # the call was paid for


async def test_429_is_retried_after_retry_after_and_400_is_not(llm_server):
    point_providers(llm_server)
    llm_server.push(Reply(status=429, headers={"Retry-After": "0.3"}), Reply("ok"))
    graph = llm_graph({"prompt": "{question}", "stream": False},
                      node={"retry": {"max_attempts": 3, "base_delay": 0, "max_delay": 0}})
    result = await graphflow.run(graph, {"question": "x"})
    assert result.ok and result.outputs["answer"] == "ok"
    retry = next(e for e in result.events if e.kind == "node_retrying")
    assert retry.error_type == "ModelRateLimited" and retry.delay == pytest.approx(0.3)
    assert llm_server.requests[1].at - llm_server.requests[0].at >= 0.3

    llm_server.push(Reply(status=400, error="unknown model"))
    result = await graphflow.run(graph, {"question": "x"})
    assert not result.ok and "ModelRejected" in (result.error or "") and "unknown model" in (result.error or "")
    assert not [e for e in result.events if e.kind == "node_retrying"]


async def test_5xx_is_retried(llm_server):
    point_providers(llm_server)
    llm_server.push(Reply(status=503), Reply("back"))
    graph = llm_graph({"prompt": "{question}"}, node={"retry": {"max_attempts": 2, "base_delay": 0}})
    result = await graphflow.run(graph, {"question": "x"})
    assert result.outputs["answer"] == "back"
    assert [e.error_type for e in result.events if e.kind == "node_retrying"] == ["ModelUnavailable"]


async def test_the_key_never_reaches_events_even_when_the_server_echoes_it(llm_server):
    point_providers(llm_server)
    llm_server.push(Reply(status=401, error="bad key: Bearer sk-planted-secret-123"))
    result = await graphflow.run(llm_graph({"prompt": "{question}"}), {"question": "x"})
    assert not result.ok
    dump = json.dumps([e.model_dump(mode="json") for e in result.events])
    assert "sk-planted-secret-123" not in dump and "***" in dump


async def test_missing_key_names_the_credential(llm_server, monkeypatch):
    monkeypatch.delenv("GRAPHFLOW_SECRET_FAKE")
    point_providers(llm_server)
    graph = llm_graph({"prompt": "{question}"}, node={"retry": {"max_attempts": 3, "base_delay": 0.01}})
    result = await graphflow.run(graph, {"question": "x"})
    assert "SecretNotFound" in (result.error or "") and "GRAPHFLOW_SECRET_FAKE" in (result.error or "")
    assert llm_server.requests == []
    assert not [e for e in result.events if e.kind == "node_retrying"]  # a missing credential is not retried


def test_unknown_provider_and_bad_schema_are_validation_problems(llm_server):
    point_providers(llm_server)
    with pytest.raises(GraphValidationError) as bad:
        graphflow.validate_graph(llm_graph({"provider": "nope", "prompt": "{question}"}))
    assert bad.value.codes == ["unknown_provider"] and "'nope'" in str(bad.value)
    with pytest.raises(GraphValidationError) as bad:
        graphflow.validate_graph(llm_graph({"prompt": "{question}", "output_schema": {"type": "wat"}},
                                           out_port="data"))
    assert "not a JSON schema" in str(bad.value)


async def test_keyless_provider_and_default_provider_env_override(llm_server, monkeypatch):
    monkeypatch.setenv("GRAPHFLOW_LLM_BASE_URL", llm_server.url)
    monkeypatch.setenv("GRAPHFLOW_LLM_MODEL", "local-model")
    graph = llm_graph({"prompt": "{question}"})
    graph["nodes"][1]["config"]["provider"] = "default"
    result = await graphflow.run(graph, {"question": "hi"})
    assert result.outputs["answer"] == "echo: hi"
    assert llm_server.requests[0].body["model"] == "local-model"
    assert result.outputs["usage"]["cost"] == 0  # no price for a local model
