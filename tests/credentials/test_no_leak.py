"""A planted credential is used by real calls and then found nowhere: not in the database file,
its WAL, the exports, the events, `graphflow show`, the logs or the command's output.

The secret is stored through the CLI (stdin), used by an llm node against the fake model server
and by http_request nodes against the local HTTP server, including failing calls whose error
bodies echo the request's headers, and a redirect to another origin.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import anyio
from llm_server import Reply
from typer.testing import CliRunner

import graphflow
from graphflow.service import Workspace
from graphflow.storage import open_store
from graphflow.ui.cli import app

SECRET = "sk-PLANTED-9b2e41c07d"
runner = CliRunner()

LLM_GRAPH = {"schema_version": 1, "id": "ask", "nodes": [
    {"id": "q", "kind": "input", "config": {"name": "question", "type": "string"}},
    {"id": "llm", "kind": "llm", "config": {"provider": "fake", "prompt": "{question}", "stream": False}},
    {"id": "a", "kind": "output", "config": {"name": "answer"}}],
    "edges": [{"id": "e1", "source": "q", "target": "llm", "target_port": "question"},
              {"id": "e2", "source": "llm", "source_port": "text", "target": "a"}]}


def http_graph(graph_id: str, url: str, retries: int = 1) -> dict:
    return {"schema_version": 1, "id": graph_id, "nodes": [
        {"id": "call", "kind": "http_request", "retry": {"max_attempts": retries, "base_delay": 0},
         "config": {"url": url, "credential_headers": {"Authorization": "Bearer {planted}",
                                                        "X-Api-Key": "{planted}"}}},
        {"id": "o", "kind": "output", "config": {"name": "body"}}],
        "edges": [{"id": "e1", "source": "call", "source_port": "body", "target": "o"}]}


def files_of(db: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in db.parent.glob(db.name + "*")}


def test_a_planted_secret_is_used_and_then_found_nowhere(tmp_path, llm_server, http_server, caplog, capfd,
                                                         monkeypatch):
    caplog.set_level(logging.DEBUG)  # every logger, httpx's and httpcore's request logs included
    monkeypatch.setenv("GRAPHFLOW_HTTP_ALLOW", "127.0.0.1,localhost")
    Path(os.environ["GRAPHFLOW_PROVIDERS"]).write_text(json.dumps({"providers": {"fake": {
        "base_url": llm_server.url, "secret": "planted", "default_model": "small"}}}))
    db = tmp_path / "gf.db"
    planted = runner.invoke(app, ["credentials", "set", "planted", "--db", str(db)], input=SECRET + "\n")
    assert planted.exit_code == 0, planted.output
    listed = runner.invoke(app, ["credentials", "list", "--db", str(db)])
    assert "planted" in listed.stdout
    base = http_server.url
    graphs = [LLM_GRAPH, http_graph("echo", f"{base}/echo"), http_graph("rejected", f"{base}/status/401"),
              http_graph("flaky", f"{base}/status/503", retries=2),
              http_graph("moved", f"{base}/redirect?to=http://localhost:{http_server.port}/echo")]
    llm_server.push(Reply("fine"), Reply(status=401, error=f"invalid key: Bearer {SECRET}"))
    seen: dict[str, bytes] = {}

    async def work() -> list[graphflow.RunResult]:
        async with open_store(db) as store:
            ws = Workspace(store, graphflow.default_registry())
            results = []
            for spec in graphs:
                await ws.save(spec)
            results.append(await ws.run("ask", {"question": "hi"}))
            results.append(await ws.run("ask", {"question": "again"}))
            for graph_id in ("echo", "rejected", "flaky", "moved"):
                results.append(await ws.run(graph_id))
            await store.flush()
            seen.update({f"open:{k}": v for k, v in files_of(db).items()})  # the -wal is there while open
            return results

    results = anyio.run(work)
    assert [r.status for r in results] == ["succeeded", "failed", "succeeded", "failed", "failed", "succeeded"]
    # the secret was really used: the servers received it
    assert llm_server.requests[0].headers["authorization"] == f"Bearer {SECRET}"
    first_http = http_server.requests[0]["headers"]
    assert first_http["authorization"] == f"Bearer {SECRET}" and first_http["x-api-key"] == SECRET
    # the failures say what failed, with the echoed headers scrubbed
    assert "ModelRejected" in (results[1].error or "") and "***" in (results[1].error or "")
    assert "HTTP 401" in (results[3].error or "") and "***" in (results[3].error or "")
    assert "HTTP 503" in (results[4].error or "")
    assert results[5].outputs["body"]["headers"].get("authorization") is None  # not sent to another origin

    out: list[str] = []
    for spec in graphs:
        target = tmp_path / f"{spec['id']}.export.json"
        exported = runner.invoke(app, ["export", spec["id"], "-o", str(target), "--db", str(db)])
        assert exported.exit_code == 0, exported.output
        out.append(target.read_text())
    for result in results:
        shown = runner.invoke(app, ["show", result.run_id, "--db", str(db)])
        assert shown.exit_code == 0
        out.append(shown.output)
    out.append(runner.invoke(app, ["runs", "--db", str(db)]).output)
    out.append(listed.output + planted.output)
    out += [json.dumps([e.model_dump(mode="json") for e in r.events]) + str(r.outputs) + str(r.error)
            for r in results]
    seen.update({f"closed:{k}": v for k, v in files_of(db).items()})
    assert any(k.endswith("-wal") for k in seen), sorted(seen)
    captured = capfd.readouterr()
    out += [caplog.text, captured.out, captured.err]

    assert all(b"planted" in data for name, data in seen.items() if name.endswith("gf.db"))  # the right files
    needle = SECRET.encode()
    assert [name for name, data in seen.items() if needle in data] == []
    assert [i for i, text in enumerate(out) if SECRET in text] == []
    assert len(caplog.records) > 0  # the logs were captured (httpx logs each request)
