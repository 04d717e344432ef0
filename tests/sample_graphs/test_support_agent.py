"""The support agent sample: three function tools and a sub-graph tool, driven by the
scripted model in the process when no server is configured, or by a real server."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import graphflow

pytestmark = pytest.mark.anyio
SAMPLES = Path(__file__).parents[2] / "sample_graphs"


def registry() -> graphflow.Registry:
    from graphflow.sample_graphs import register

    reg = graphflow.default_registry(installed=False)
    register(reg)
    return reg


async def test_the_scripted_agent_uses_every_tool_and_answers():
    graph = graphflow.load_graph(SAMPLES / "support_agent.json")
    example = {"message": graph.nodes[0].config["example"]}
    result = await graphflow.run(graph, example, registry=registry())
    assert result.ok, result.error
    steps = [e for e in result.events if e.kind == "agent_step"]
    calls = sorted((e.step, e.index, e.name) for e in result.events if e.kind == "tool_call")
    assert [len(s.tool_calls) for s in steps] == [2, 2, 0]
    assert calls == [(1, 0, "lookup_order"), (1, 1, "refund_eligibility"), (2, 0, "check_refund_policy"),
                     (2, 1, "open_ticket")]
    eligibility = next(e for e in result.events if e.kind == "tool_call" and e.name == "refund_eligibility")
    assert eligibility.result == {"eligibility": {"eligible": True, "days": 9, "window_days": 30, "total": 149.99}}
    assert "qualifies for a refund" in result.outputs["answer"] and "Ticket T-" in result.outputs["answer"]
    assert result.outputs["usage"]["steps"] == 3 and result.outputs["usage"]["tool_calls"] == 4


async def test_a_large_order_needs_a_person_and_an_unknown_one_is_said():
    graph = graphflow.load_graph(SAMPLES / "support_agent.json")
    big = await graphflow.run(graph, {"message": "Refund for A-101 please"}, registry=registry())
    assert big.ok and "needs a person to review" in big.outputs["answer"]
    ticket = next(e for e in big.events if e.kind == "tool_call" and e.name == "open_ticket")
    assert ticket.result["priority"] == "high"
    unknown = await graphflow.run(graph, {"message": "Where is Z-999?"}, registry=registry())
    assert unknown.ok and unknown.outputs["answer"] == "I could not find order Z-999. Could you check the number?"
    failed = next(e for e in unknown.events if e.kind == "tool_call" and e.name == "lookup_order")
    assert failed.error == "KeyError: 'no order Z-999'"


async def test_a_configured_server_drives_the_same_sample(llm_server, monkeypatch):
    from llm_server import Reply

    monkeypatch.setenv("GRAPHFLOW_LLM_BASE_URL", llm_server.url)
    monkeypatch.setenv("GRAPHFLOW_LLM_MODEL", "served")
    llm_server.push(Reply(tool_calls=[{"name": "check_refund_policy", "arguments": {"category": "home"}}]),
                    Reply("Home items: 60 days."))
    graph = graphflow.load_graph(SAMPLES / "support_agent.json")
    result = await graphflow.run(graph, {"message": "policy?"}, registry=registry())
    assert result.ok, result.error
    assert result.outputs["answer"] == "Home items: 60 days."
    assert llm_server.requests[0].body["model"] == "served"
    assert sorted(t["function"]["name"] for t in llm_server.requests[0].body["tools"]) == [
        "check_refund_policy", "lookup_order", "open_ticket", "refund_eligibility"]


@pytest.mark.slow
def test_graphflow_run_example_works_with_no_server(tmp_path):
    done = subprocess.run([sys.executable, "-m", "graphflow", "run", str(SAMPLES / "support_agent.json"),
                           "--example", "-q", "--db", str(tmp_path / "g.db")], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "qualifies for a refund" in json.loads(done.stdout)["answer"]
    with sqlite3.connect(tmp_path / "g.db") as conn:
        (run_id,) = conn.execute("SELECT run_id FROM runs").fetchone()
    shown = subprocess.run([sys.executable, "-m", "graphflow", "show", run_id, "--db", str(tmp_path / "g.db")],
                           capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0, shown.stderr
    assert "agent (agent):" in shown.stdout
    assert "step 1: calls lookup_order, refund_eligibility" in shown.stdout
    assert '#1 refund_eligibility("order_id": "A-100") -> {"eligibility": {"eligible": true' in shown.stdout


async def test_a_graph_tools_call_is_stored_as_a_run_of_its_own(tmp_path):
    """Through a workspace (a store), the refund_eligibility call is a run of that graph, its id
    the call's idempotency key, its run_started naming the agent's run; without a store the
    same run stores nothing and works the same."""
    from graphflow.service import Workspace
    from graphflow.storage import open_store

    graph = graphflow.load_graph(SAMPLES / "support_agent.json")
    example = {"message": graph.nodes[0].config["example"]}
    async with open_store(tmp_path / "g.db") as store:
        ws = Workspace(store, registry())
        await ws.save(graph)
        result = await ws.run("support_agent", example)
        assert result.ok, result.error
        call = next(e for e in result.events if e.kind == "tool_call" and e.name == "refund_eligibility")
        sub_id = f"{result.run_id}:agent:{call.step}:{call.index}"
        (sub,) = await ws.runs("refund_eligibility")
        assert (sub.run_id, sub.status, sub.outputs) == (sub_id, "succeeded", call.result)
        events = await ws.events(sub_id)
        assert events[0].kind == "run_started" and events[0].parent_run_id == result.run_id
        assert events[-1].kind == "run_finished" and [e.seq for e in events] == list(range(len(events)))
        assert (await ws.events(result.run_id))[0].parent_run_id is None
        assert [r.run_id for r in await ws.runs("support_agent")] == [result.run_id]
    bare = await graphflow.run(graph, example, registry=registry())
    assert bare.ok, bare.error
