"""The agent node against a real OpenAI-compatible server on 127.0.0.1: scripted tool-call
conversations, parallel calls, bad arguments, raising tools, limits, and its nested events."""

from __future__ import annotations

import json
import threading
from typing import Any, Literal

import anyio
import pytest
from helpers import point_providers
from llm_server import Reply

import graphflow
from graphflow.describe import describe, steps_lines
from graphflow.errors import GraphValidationError
from graphflow.runner import Runner
from graphflow.state import RunState

pytestmark = pytest.mark.anyio

ORDERS = {"A1": {"status": "shipped", "total": 120.0}, "B2": {"status": "pending", "total": 40.0}}


@pytest.fixture(autouse=True)
def key(monkeypatch):
    monkeypatch.setenv("GRAPHFLOW_SECRET_FAKE", "sk-test")


def lookup_order(order_id: str, detail: Literal["short", "full"] = "short") -> dict[str, Any]:
    """Look up an order by its id.

    Args:
        order_id: The order's id, like A1.
        detail: How much to say.
    """
    if order_id not in ORDERS:
        raise KeyError(f"no order {order_id}")
    return {"order_id": order_id, **ORDERS[order_id]}


def registry(**extra: Any) -> graphflow.Registry:
    reg = graphflow.default_registry(installed=False)
    reg.register_function("shop.lookup_order", lookup_order)
    for name, fn in extra.items():
        reg.register_function(f"shop.{name}", fn)
    return reg


def agent_graph(tools: list[Any], **config: Any) -> dict[str, Any]:
    return {"schema_version": 1, "id": "agent", "nodes": [
        {"id": "message", "kind": "input", "config": {"name": "message", "type": "string"}},
        {"id": "agent", "kind": "agent", "config": {"provider": "fake", "system": "You help shoppers.",
                                                    "tools": tools, "stream": False, **config}},
        {"id": "answer", "kind": "output", "config": {"name": "answer"}},
        {"id": "usage", "kind": "output", "config": {"name": "usage"}},
    ], "edges": [
        {"id": "e1", "source": "message", "target": "agent", "target_port": "message"},
        {"id": "e2", "source": "agent", "source_port": "text", "target": "answer"},
        {"id": "e3", "source": "agent", "source_port": "usage", "target": "usage"},
    ]}


def call(tool: str, /, **arguments: Any) -> dict[str, Any]:
    return {"name": tool, "arguments": arguments}


def nested(result: Any, kind: str) -> list[Any]:
    return [e for e in result.events if e.kind == kind]


@pytest.mark.parametrize("stream", [False, True])
async def test_a_scripted_conversation_calls_the_tool_and_answers(llm_server, stream):
    point_providers(llm_server)
    llm_server.push(Reply(tool_calls=[call("lookup_order", order_id="A1")], usage=(20, 5)),
                    Reply("Order A1 has shipped.", usage=(40, 6)))
    result = await graphflow.run(agent_graph(["shop.lookup_order"], stream=stream), {"message": "Where is A1?"},
                                 registry=registry())
    assert result.ok, result.error
    assert result.outputs["answer"] == "Order A1 has shipped."
    assert result.outputs["usage"] == {"provider": "fake", "model": "small", "tokens_in": 60, "tokens_out": 11,
                                       "cost": pytest.approx((60 * 1 + 11 * 2) / 1e6), "steps": 2,
                                       "tool_calls": 1}
    first, second = (r.body for r in llm_server.requests)
    assert first["messages"] == [{"role": "system", "content": "You help shoppers."},
                                 {"role": "user", "content": "Where is A1?"}]
    tool = first["tools"][0]["function"]
    assert tool["name"] == "lookup_order" and tool["description"] == "Look up an order by its id."
    assert tool["parameters"]["required"] == ["order_id"]
    assert tool["parameters"]["properties"]["order_id"] == {"description": "The order's id, like A1.",
                                                            "type": "string"}
    assert tool["parameters"]["properties"]["detail"]["enum"] == ["short", "full"]
    turn, answer = second["messages"][2:]
    assert turn["role"] == "assistant" and turn["tool_calls"][0]["function"] == {
        "name": "lookup_order", "arguments": json.dumps({"order_id": "A1"})}
    assert answer == {"role": "tool", "tool_call_id": turn["tool_calls"][0]["id"],
                      "content": json.dumps({"order_id": "A1", "status": "shipped", "total": 120.0})}
    steps, calls = nested(result, "agent_step"), nested(result, "tool_call")
    assert [(s.step, s.tokens_in, s.tokens_out, len(s.tool_calls)) for s in steps] == [(1, 20, 5, 1), (2, 40, 6, 0)]
    assert steps[1].text == "Order A1 has shipped."
    (done,) = calls
    assert (done.step, done.index, done.name, done.arguments, done.error) == (
        1, 0, "lookup_order", {"order_id": "A1", "detail": "short"}, None)
    assert done.result == {"order_id": "A1", "status": "shipped", "total": 120.0}
    assert done.key == f"{result.run_id}:agent:1:0"
    node = next(e for e in result.events if e.kind == "node_succeeded" and e.node_id == "agent")
    assert node.tokens == 71 and node.cost == pytest.approx(82 / 1e6)
    seqs = [e.seq for e in result.events]
    assert seqs == list(range(len(seqs)))


async def test_the_calls_of_one_step_run_at_once(llm_server):
    """Three async and three sync calls in one step: each waits until all of its kind are in
    flight, so run one after another they would never finish (the barriers time out)."""
    point_providers(llm_server)
    arrived: list[str] = []
    everyone = anyio.Event()
    barrier = threading.Barrier(3, timeout=10)

    async def slow_async(name: str) -> str:
        """Waits for the others."""
        arrived.append(name)
        if len(arrived) == 3:
            everyone.set()
        with anyio.fail_after(10):
            await everyone.wait()
        return f"async {name}"

    def slow_sync(name: str) -> str:
        """Waits for the others, in a worker thread."""
        barrier.wait()
        return f"sync {name} in {threading.current_thread().name}"

    llm_server.push(Reply(tool_calls=[call("slow_async", name=n) for n in "abc"]
                          + [call("slow_sync", name=n) for n in "xyz"]), Reply("all done"))
    result = await graphflow.run(agent_graph(["shop.slow_async", "shop.slow_sync"]), {"message": "go"},
                                 registry=registry(slow_async=slow_async, slow_sync=slow_sync))
    assert result.ok, result.error
    calls = nested(result, "tool_call")
    assert sorted(c.index for c in calls) == [0, 1, 2, 3, 4, 5]
    assert all(c.error is None for c in calls)
    assert {c.result for c in calls if c.name == "slow_async"} == {"async a", "async b", "async c"}
    assert all(c.result.endswith("in graphflow worker") for c in calls if c.name == "slow_sync")
    results = [m for m in llm_server.requests[1].body["messages"] if m["role"] == "tool"]
    assert [m["tool_call_id"] for m in results] == [f"call_{i}" for i in range(6)]  # in the order asked


async def test_malformed_arguments_go_back_to_the_model_as_an_error(llm_server):
    point_providers(llm_server)
    calls: list[str] = []

    def record(order_id: str) -> str:
        calls.append(order_id)
        return "ok"

    llm_server.push(
        Reply(tool_calls=[{"name": "lookup_order", "raw_arguments": '{"order_id": "A1"'},
                          call("lookup_order", order_id=7, extra=True), call("refund", order_id="A1")]),
        Reply(tool_calls=[call("lookup_order", order_id="B2")]),
        Reply("B2 is pending."))
    result = await graphflow.run(agent_graph(["shop.lookup_order"]), {"message": "?"}, registry=registry())
    assert result.ok, result.error
    assert result.outputs["answer"] == "B2 is pending."
    bad = sorted(nested(result, "tool_call"), key=lambda c: (c.step, c.index))
    assert bad[0].error is not None and bad[0].error.startswith("the arguments are not JSON")
    assert bad[0].arguments == '{"order_id": "A1"'
    assert bad[1].error == ("invalid arguments: order_id: Input should be a valid string; "
                            "extra: Extra inputs are not permitted")
    assert bad[2].error == "there is no tool named 'refund' (the tools are: lookup_order)"
    assert bad[3].error is None and bad[3].result["status"] == "pending"
    told = [m for m in llm_server.requests[1].body["messages"] if m["role"] == "tool"]
    assert [json.loads(m["content"])["error"] for m in told] == [c.error for c in bad[:3]]
    assert not calls


async def test_a_raising_tool_answers_the_model_with_its_error(llm_server):
    point_providers(llm_server)
    llm_server.push(Reply(tool_calls=[call("lookup_order", order_id="Z9")]), Reply("There is no order Z9."))
    result = await graphflow.run(agent_graph(["shop.lookup_order"]), {"message": "Z9?"}, registry=registry())
    assert result.ok, result.error
    (failed,) = nested(result, "tool_call")
    assert failed.error == "KeyError: 'no order Z9'" and not failed.fatal
    told = llm_server.requests[1].body["messages"][-1]
    assert told["role"] == "tool" and json.loads(told["content"]) == {"error": "KeyError: 'no order Z9'"}


async def test_tool_errors_fail_stops_the_node_naming_the_tool(llm_server):
    point_providers(llm_server)
    llm_server.push(Reply(tool_calls=[call("lookup_order", order_id="Z9"), call("lookup_order", order_id="A1")]))
    result = await graphflow.run(agent_graph(["shop.lookup_order"], tool_errors="fail"), {"message": "?"},
                                 registry=registry())
    assert not result.ok
    assert result.error == "ToolCallFailed: tool 'lookup_order' (step 1) failed: KeyError: 'no order Z9'"
    calls = sorted(nested(result, "tool_call"), key=lambda c: c.index)
    assert [(c.index, c.fatal) for c in calls] == [(0, True), (1, False)]  # the other call still finished
    assert len(llm_server.requests) == 1


async def test_a_loop_that_never_ends_fails_at_max_steps(llm_server):
    point_providers(llm_server)
    llm_server.respond = lambda body: Reply(tool_calls=[call("lookup_order", order_id="A1")])
    result = await graphflow.run(agent_graph(["shop.lookup_order"], max_steps=3), {"message": "loop"},
                                 registry=registry())
    assert not result.ok
    assert result.error == "AgentLimitExceeded: the model still asked for tools after 3 steps (max_steps 3)"
    assert len(llm_server.requests) == 3
    assert len(nested(result, "agent_step")) == 3 and len(nested(result, "tool_call")) == 2
    failed = next(e for e in result.events if e.kind == "node_failed")
    assert failed.tokens > 0  # what the steps spent stays on the node


@pytest.mark.parametrize(("limit", "value", "message"), [
    ("max_tokens", 30, "AgentLimitExceeded: 1 steps spent 30 tokens (max_tokens 30); no further step"),
    ("max_cost", 0.00003, "AgentLimitExceeded: 1 steps cost $4e-05 (max_cost $3e-05); no further step"),
])
async def test_token_and_cost_budgets_stop_before_the_next_step(llm_server, limit, value, message):
    point_providers(llm_server)
    llm_server.push(Reply(tool_calls=[call("lookup_order", order_id="A1")], usage=(20, 10)), Reply("never"))
    result = await graphflow.run(agent_graph(["shop.lookup_order"], **{limit: value}), {"message": "?"},
                                 registry=registry())
    assert not result.ok and result.error == message
    assert len(llm_server.requests) == 1 and not nested(result, "tool_call")


async def test_a_retried_agent_continues_after_its_finished_steps(llm_server):
    """A model error at step 2 retries the node: step 1's tool is not called again."""
    point_providers(llm_server)
    made: list[str] = []

    def effect(order_id: str) -> str:
        made.append(order_id)
        return "done"

    llm_server.push(Reply(tool_calls=[call("effect", order_id="A1")]), Reply(status=503), Reply("finished"))
    graph = agent_graph(["shop.effect"])
    graph["nodes"][1]["retry"] = {"max_attempts": 2, "base_delay": 0}
    result = await graphflow.run(graph, {"message": "?"}, registry=registry(effect=effect))
    assert result.ok, result.error
    assert made == ["A1"]
    assert [s.step for s in nested(result, "agent_step")] == [1, 2]
    assert len(llm_server.requests[2].body["messages"]) == 4  # system, user, the turn, its result


async def test_the_read_model_and_the_describer_show_steps_and_calls(llm_server):
    point_providers(llm_server)
    llm_server.push(Reply(tool_calls=[call("lookup_order", order_id="A1"), call("lookup_order", order_id="Z9")],
                          usage=(10, 2)), Reply("A1 shipped; Z9 unknown.", usage=(30, 5)))
    result = await graphflow.run(agent_graph(["shop.lookup_order"]), {"message": "?"}, registry=registry())
    state = RunState()
    partial = None
    for event in result.events:
        state.apply(event)
        if event.kind == "agent_step" and event.step == 1:
            partial = state.copy()
    assert partial is not None and [c.status for c in partial.nodes["agent"].steps[0].calls] == ["running"] * 2
    steps = state.nodes["agent"].steps
    assert [(s.step, s.tokens, [c.status for c in s.calls]) for s in steps] == [
        (1, 12, ["succeeded", "failed"]), (2, 35, [])]
    assert partial.nodes["agent"].steps[0].calls[0].status == "running"  # the copy did not change
    lines = steps_lines(state.nodes["agent"])
    assert lines[0].startswith("step 1: calls lookup_order, lookup_order [12 tokens, $0.0000, ")
    assert lines[1].startswith('  #0 lookup_order("order_id": "A1", "detail": "short") -> {"order_id": "A1", ')
    assert lines[2].startswith('  #1 lookup_order("order_id": "Z9", "detail": "short") -> error: KeyError: ')
    assert lines[3].startswith("step 2: answers: A1 shipped; Z9 unknown. [35 tokens")
    texts = [describe(e) for e in result.events if e.kind in ("agent_step", "tool_call")]
    assert any("agent step 1: calls lookup_order, lookup_order [12 tokens" in t for t in texts)
    assert any("agent step 1 #1 lookup_order(" in t and "-> error: KeyError" in t for t in texts)


def test_tools_are_checked_when_the_graph_is_validated():
    def varargs(*names: str) -> str:
        return ""

    reg = registry(varargs=varargs)
    for tools, code, text in [
        (["shop.nothing"], "unknown_function", "config.tools[0]: unknown function 'shop.nothing'"),
        (["shop.lookup_order", {"function": "shop.lookup_order"}], "invalid_config",
         "config.tools[1]: two tools are named 'lookup_order'"),
        (["shop.varargs"], "invalid_config", "parameter 'names' is variadic positional"),
        ([{"function": "shop.lookup_order", "name": "look up"}], "invalid_config", "tool name 'look up'"),
    ]:
        with pytest.raises(GraphValidationError) as caught:
            graphflow.validate_graph(agent_graph(tools, provider="default"), reg)
        (problem,) = caught.value.problems
        assert problem.code == code and problem.node_id == "agent" and text in problem.message, problem


async def test_resume_from_a_log_cut_inside_a_step_runs_only_what_has_no_record(llm_server):
    """The log of a finished run, cut after step 2's first call: resuming asks no recorded
    turn again and makes only step 2's second call, under its own key."""
    point_providers(llm_server)
    made: list[str] = []

    def effect(name: str, ctx: graphflow.NodeContext) -> str:
        made.append(f"{name}@{ctx.idempotency_key}")
        return f"{name} done"

    script = [Reply(tool_calls=[call("effect", name="A")]),
              Reply(tool_calls=[call("effect", name="B"), call("effect", name="C")]), Reply("finished")]
    llm_server.push(*script)
    compiled = graphflow.validate_graph(agent_graph(["shop.effect"]), registry(effect=effect))
    first = await graphflow.run(compiled, {"message": "?"})
    assert first.ok, first.error
    cut = next(i for i, e in enumerate(first.events)
               if e.kind == "tool_call" and e.step == 2 and e.arguments == {"name": "B"})
    made.clear()
    llm_server.requests.clear()
    llm_server.push(script[2])
    again = await Runner(compiled).resume(first.events[:cut + 1])
    assert again.ok and again.outputs["answer"] == "finished"
    assert made == [f"C@{first.run_id}:agent:2:1"]
    assert len(llm_server.requests) == 1 and len(llm_server.requests[0].body["messages"]) == 7
    assert [e.step for e in again.events if e.kind == "agent_step"] == [1, 2, 3]
