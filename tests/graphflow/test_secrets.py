"""Nodes read named credentials through ``ctx.secret``; the value never lands in the run's events."""

from __future__ import annotations

import json

import pytest
from graphs import edge, fn, graph, node

import graphflow
from graphflow.errors import SecretNotFound
from graphflow.events import event_to_json
from graphflow.secrets import EnvSecrets, env_name

pytestmark = pytest.mark.anyio


class DictSecrets:
    def __init__(self, values: dict[str, str]) -> None:
        self.values = values

    def get(self, name: str) -> str:
        try:
            return self.values[name]
        except KeyError:
            raise SecretNotFound(name, "not in the test's source") from None


def _using_a_secret():
    registry = graphflow.default_registry(installed=False)

    def call(value, ctx):
        return {"length": len(ctx.secret("api"))}

    registry.register_function("call_with_key", call, non_blocking=True)
    spec = graph(node("c", "constant", value=1), fn("f", "call_with_key"), node("o", "output", name="o"),
                 edge("c", "f"), edge("f", "o"))
    return spec, registry


async def test_secret_from_the_given_source_is_never_in_events():
    spec, registry = _using_a_secret()
    result = await graphflow.run(spec, registry=registry, secrets=DictSecrets({"api": "sk-planted-123"}))
    assert result.ok and result.outputs == {"o": {"length": 14}}
    assert "sk-planted-123" not in "".join(event_to_json(e) for e in result.events)


async def test_missing_secret_fails_the_node_naming_the_variable(monkeypatch):
    monkeypatch.delenv(env_name("api"), raising=False)
    spec, registry = _using_a_secret()
    result = await graphflow.run(spec, registry=registry)
    assert not result.ok
    failed = next(e for e in result.events if e.kind == "node_failed")
    text = event_to_json(failed)
    assert "SecretNotFound" in text and "GRAPHFLOW_SECRET_API" in text


async def test_environment_is_the_default_source(monkeypatch):
    monkeypatch.setenv("GRAPHFLOW_SECRET_API", "from-env")
    spec, registry = _using_a_secret()
    result = await graphflow.run(spec, registry=registry)
    assert result.outputs == {"o": {"length": 8}}


def test_environment_names_are_prefixed_and_upper_case():
    assert env_name("my-openai") == "GRAPHFLOW_SECRET_MY_OPENAI"
    assert EnvSecrets({"GRAPHFLOW_SECRET_MY_OPENAI": "v"}).get("my-openai") == "v"
    with pytest.raises(SecretNotFound):
        EnvSecrets({}).get("my-openai")
    assert json.dumps(str(SecretNotFound("x", "y"))) == '"no credential named \'x\' (y)"'
