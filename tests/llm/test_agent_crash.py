"""Kill a durable run with SIGKILL in the middle of an agent's third step, recover it, and
check the agent continued from its last finished step: no model turn asked twice, no
finished tool call made again, the in-flight call made again under the same key."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import point_providers
from llm_server import Reply

pytestmark = pytest.mark.slow

WORKER = Path(__file__).with_name("agent_crash_worker.py")


def effect(name: str) -> dict[str, object]:
    return {"name": "effect", "arguments": {"name": name}}


def worker(mode: str, db: Path, effects: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(WORKER), mode, str(db), str(effects)], capture_output=True,
                          text=True, timeout=60)


def test_a_crash_in_the_third_step_resumes_after_the_last_finished_step(llm_server, tmp_path, monkeypatch):
    monkeypatch.setenv("GRAPHFLOW_SECRET_FAKE", "sk-test")
    point_providers(llm_server)
    llm_server.push(Reply(tool_calls=[effect("A")]), Reply(tool_calls=[effect("B"), effect("C")]),
                    Reply(tool_calls=[effect("E"), effect("D")]), Reply("all done"))
    db, effects = tmp_path / "runs.db", tmp_path / "effects.db"

    killed = worker("start", db, effects)
    assert killed.returncode == -9, killed.stderr
    assert len(llm_server.requests) == 3
    with sqlite3.connect(db) as conn:
        before = [json.loads(r[0]) for r in conn.execute(
            "SELECT body_json FROM events WHERE run_id='agent-run' AND kind IN ('agent_step', 'tool_call') "
            "ORDER BY seq")]
    assert [(e["kind"], e["step"]) for e in before if e["kind"] == "agent_step"] == [
        ("agent_step", 1), ("agent_step", 2), ("agent_step", 3)]
    assert sorted(e["arguments"]["name"] for e in before if e["kind"] == "tool_call") == ["A", "B", "C", "E"]

    recovered = worker("recover", db, effects)
    assert recovered.returncode == 0, recovered.stderr

    assert len(llm_server.requests) == 4  # only the fourth step was asked, with the whole conversation
    told = llm_server.requests[3].body["messages"]
    assert [m["role"] for m in told] == ["user", "assistant", "tool", "assistant", "tool", "tool", "assistant",
                                         "tool", "tool"]
    assert [m["content"] for m in told if m["role"] == "tool"] == [
        "A done", "B done", "C done", "E done", "D done"]
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        status, outputs = conn.execute("SELECT status, outputs_json FROM runs WHERE run_id='agent-run'").fetchone()
        rows = [(r[0], json.loads(r[1])) for r in conn.execute(
            "SELECT kind, body_json FROM events WHERE run_id='agent-run' ORDER BY seq")]
    assert status == "succeeded" and json.loads(outputs) == {"answer": "all done"}
    assert [b["seq"] for _, b in rows] == list(range(len(rows)))
    assert "run_resumed" in [k for k, _ in rows]
    assert [b["step"] for k, b in rows if k == "agent_step"] == [1, 2, 3, 4]
    calls = [(b["step"], b["index"], b["arguments"]["name"], b["key"]) for k, b in rows if k == "tool_call"]
    assert sorted(calls) == [(1, 0, "A", "agent-run:agent:1:0"), (2, 0, "B", "agent-run:agent:2:0"),
                             (2, 1, "C", "agent-run:agent:2:1"), (3, 0, "E", "agent-run:agent:3:0"),
                             (3, 1, "D", "agent-run:agent:3:1")]
    (done,) = [b for k, b in rows if k == "node_succeeded" and b["node_id"] == "agent"]
    steps = [b for k, b in rows if k == "agent_step"]
    assert done["tokens"] == sum(s["tokens_in"] + s["tokens_out"] for s in steps)  # the killed process's too
    assert done["output"]["usage"]["steps"] == 4 and done["output"]["usage"]["tool_calls"] == 5
    with sqlite3.connect(effects) as conn:
        made = dict(conn.execute("SELECT name, count(*) FROM calls GROUP BY name").fetchall())
        keys = sorted(r[0] for r in conn.execute("SELECT key FROM effects"))
    assert made == {"A": 1, "B": 1, "C": 1, "E": 1, "D": 2}  # D was in flight: made again, with its key
    assert keys == sorted(c[3] for c in calls)
