"""An agent's other tools: saved (or registered) graphs run as nested runs, and HTTP requests
through the http_request kind (its address guard included)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from helpers import point_providers
from llm_server import Reply
from test_agent_node import agent_graph, call, nested

import graphflow
from graphflow.errors import GraphValidationError
from graphflow.service import Workspace
from graphflow.storage import open_store

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
def key(monkeypatch):
    monkeypatch.setenv("GRAPHFLOW_SECRET_FAKE", "sk-test")


def refund_graph() -> dict[str, Any]:
    return {"schema_version": 1, "id": "refund_check", "name": "Refund check",
            "description": "Says whether an order may be refunded.", "nodes": [
                {"id": "order", "kind": "input", "config": {"name": "order_id", "type": "string",
                                                             "description": "The order to check."}},
                {"id": "amount", "kind": "input", "config": {"name": "amount", "type": "number", "required": False,
                                                              "default": 10}},
                {"id": "decide", "kind": "function", "config": {"function": "shop.decide"}},
                {"id": "join", "kind": "join", "config": {"strategy": "all"}},
                {"id": "out", "kind": "output", "config": {"name": "decision"}},
            ], "edges": [
                {"id": "e1", "source": "order", "target": "join"}, {"id": "e2", "source": "amount", "target": "join"},
                {"id": "e3", "source": "join", "target": "decide"}, {"id": "e4", "source": "decide", "target": "out"},
            ]}


def registry(keys: list[str]) -> graphflow.Registry:
    reg = graphflow.default_registry(installed=False)

    def decide(value: Any, ctx: graphflow.NodeContext) -> dict[str, Any]:
        keys.append(ctx.idempotency_key)
        values = value if isinstance(value, dict) else dict(zip(("order", "amount"), value, strict=True))
        order, amount = values["order"], values["amount"]
        return {"order_id": order, "refund": amount < 100}

    reg.register_function("shop.decide", decide)
    return reg


async def test_a_registered_graph_is_a_tool_its_inputs_the_parameters(llm_server):
    point_providers(llm_server)
    keys: list[str] = []
    reg = registry(keys)
    reg.register_graph(graphflow.load_graph(refund_graph()))
    llm_server.push(Reply(tool_calls=[call("refund_check", order_id="A1"), call("refund_check", order_id="B2",
                                                                              amount=250)]),
                    Reply(tool_calls=[call("refund_check", amount=5)]), Reply("A1 yes, B2 no."))
    result = await graphflow.run(agent_graph([{"graph": "refund_check"}]), {"message": "refunds?"}, registry=reg)
    assert result.ok, result.error
    tool = llm_server.requests[0].body["tools"][0]["function"]
    assert tool["name"] == "refund_check" and tool["description"] == "Says whether an order may be refunded."
    assert tool["parameters"]["required"] == ["order_id"]
    assert tool["parameters"]["properties"]["order_id"] == {"description": "The order to check.", "type": "string"}
    calls = sorted(nested(result, "tool_call"), key=lambda c: (c.step, c.index))
    assert [c.result for c in calls[:2]] == [{"decision": {"order_id": "A1", "refund": True}},
                                            {"decision": {"order_id": "B2", "refund": False}}]
    assert calls[2].error == "invalid arguments: order_id: Field required"
    # the nested run's id is the call's key, so the sub-graph's own nodes have stable keys
    assert sorted(keys) == [f"{result.run_id}:agent:1:0:decide", f"{result.run_id}:agent:1:1:decide"]


async def test_a_failing_graph_tool_tells_the_model_where_it_failed(llm_server):
    point_providers(llm_server)
    reg = registry([])
    reg.register_function("shop.decide", lambda value: 1 / 0, replace=True)
    reg.register_graph(graphflow.load_graph(refund_graph()))
    llm_server.push(Reply(tool_calls=[call("refunds", order_id="A1")]), Reply("sorry"))
    result = await graphflow.run(agent_graph([{"graph": "refund_check", "name": "refunds"}]), {"message": "?"},
                                 registry=reg)
    assert result.ok, result.error
    (failed,) = nested(result, "tool_call")
    assert failed.error == ("GraphToolFailed: graph 'refund_check' failed at node 'decide': "
                            "ZeroDivisionError: division by zero")


async def test_a_saved_graph_is_a_tool_of_a_workspace_graph(llm_server, tmp_path):
    point_providers(llm_server)
    llm_server.push(Reply(tool_calls=[call("refund_check", order_id="A1")]), Reply("yes"))
    async with open_store(tmp_path / "db.sqlite") as store:
        ws = Workspace(store, registry([]))
        await ws.save(graphflow.load_graph(refund_graph()))
        await ws.save(graphflow.load_graph(agent_graph([{"graph": "refund_check"}])))
        result = await ws.run("agent", {"message": "?"})
        assert result.ok, result.error
        (done,) = nested(result, "tool_call")
        assert done.result == {"decision": {"order_id": "A1", "refund": True}}
        stored = [e.kind for e in await ws.events(result.run_id)]
        assert stored.count("tool_call") == 1 and stored.count("agent_step") == 2


def test_graph_tools_are_checked_at_validation():
    reg = registry([])
    with pytest.raises(GraphValidationError, match="unknown graph 'nope'"):
        graphflow.validate_graph(agent_graph([{"graph": "nope"}], provider="default"), reg)
    loop = agent_graph([{"graph": "agent"}], provider="default")
    reg.register_graph(graphflow.load_graph(loop))
    with pytest.raises(GraphValidationError, match=r"graph 'agent' calls itself as a tool \(agent -> agent\)"):
        graphflow.validate_graph(loop, reg)
    with pytest.raises(GraphValidationError, match="a tool names one of 'function', 'graph' or 'http', not "
                                                   "function and graph"):
        graphflow.validate_graph(agent_graph([{"graph": "x", "function": "y"}], provider="default"), reg)


async def test_an_http_request_is_a_tool_under_the_address_guard(llm_server, http_server, monkeypatch):
    point_providers(llm_server)
    http = {"method": "GET", "url": http_server.url + "/echo/{path}", "query": {"q": "{term}"}}
    llm_server.push(Reply(tool_calls=[call("search", path="orders", term="a b")]), Reply("found"))
    monkeypatch.setenv("GRAPHFLOW_HTTP_ALLOW", "127.0.0.1")
    reg = graphflow.default_registry(installed=False)
    result = await graphflow.run(agent_graph([{"http": http, "name": "search"}]), {"message": "?"}, registry=reg)
    assert result.ok, result.error
    tool = llm_server.requests[0].body["tools"][0]["function"]
    assert tool["parameters"]["required"] == ["path", "term"]
    (done,) = nested(result, "tool_call")
    assert done.result["status"] == 200 and done.result["body"]["query"] == {"q": "a b"}
    assert done.result["body"]["path"] == "/echo/orders"

    monkeypatch.delenv("GRAPHFLOW_HTTP_ALLOW")  # loopback is refused again: the model is told so
    llm_server.push(Reply(tool_calls=[call("search", path="x", term="y")]), Reply("blocked"))
    result = await graphflow.run(agent_graph([{"http": http, "name": "search"}]), {"message": "?"}, registry=reg)
    assert result.ok, result.error
    (refused,) = nested(result, "tool_call")
    assert refused.error is not None and refused.error.startswith("HttpRefused: ")
    told = json.loads(llm_server.requests[-1].body["messages"][-1]["content"])
    assert told == {"error": refused.error}
