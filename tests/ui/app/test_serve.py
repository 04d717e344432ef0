"""``graphflow serve`` as a command: refusing to bind beyond loopback without a token, and a
server with a token that shows nothing without it."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from app_support import graphflow_command, in_thread, serve_env, start_server, stop_server

from graphflow import events as ev
from graphflow.model import GraphSpec
from graphflow.storage import open_store

pytestmark = pytest.mark.slow


def test_binding_beyond_loopback_without_a_token_is_refused(tmp_path):
    done = subprocess.run(graphflow_command("serve", "--host", "0.0.0.0", "--port", "1"), env=serve_env(
        tmp_path / "gf.db"), capture_output=True, text=True, timeout=60)
    assert done.returncode in (1, 2)
    assert "binding to 0.0.0.0 needs an access token: pass --token or set GRAPHFLOW_TOKEN" in done.stderr
    assert not (tmp_path / "gf.db").exists()


def test_with_a_token_every_page_needs_it(tmp_path):
    token = "Zq8v3LrT1xWmK0pN5sYbHc2EoJu7AgDf"
    served = start_server(tmp_path, "--token", token)
    try:
        for path in ("/", "/graph/resilience_demo", "/graph/resilience_demo/runs"):
            refused = httpx.get(served.url + path)
            assert refused.status_code == 401 and "access token required" in refused.text
            assert "resilience" not in refused.text
        with httpx.Client(base_url=served.url) as client:
            entry = client.get(f"/?token={token}")  # sets the cookie, then moves on without the token
            assert entry.status_code == 200 and "content='0;url=/'" in entry.text
            assert client.get("/").status_code == 200
            assert client.get("/graph/resilience_demo").status_code == 200
    finally:
        stop_server(served)


def test_start_continues_unfinished_runs_and_adds_the_samples_to_an_existing_database(tmp_path):
    graph = {"schema_version": 1, "id": "left", "nodes": [
        {"id": "c", "kind": "constant", "config": {"value": 7}},
        {"id": "o", "kind": "output", "config": {"name": "seven"}}],
        "edges": [{"id": "e", "source": "c", "target": "o"}]}

    async def seed() -> None:  # a run the last process left after its first event
        async with open_store(tmp_path / "served.db") as store:
            await store.save_graph(GraphSpec.model_validate(graph))
            await store.publish(ev.RunStarted(run_id="r1", seq=0, at=1.0, graph_id="left", graph_version=1,
                                              node_ids=["c", "o"]))
            await store.flush()

    async def state() -> tuple[Any, list[str]]:
        async with open_store(tmp_path / "served.db") as store:
            return await store.get_run("r1"), [g.graph_id for g in await store.list_graphs()]

    in_thread(seed)
    served = start_server(tmp_path)
    try:
        deadline = time.monotonic() + 10
        while (run := in_thread(state)[0]).status == "running" and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stop_server(served)
    run, graphs = in_thread(state)
    assert (run.status, run.outputs) == ("succeeded", {"seven": 7})
    shipped = Path(__file__).parents[3] / "sample_graphs"
    samples = {json.loads(p.read_text())["id"] for p in shipped.glob("*.json")}  # every sample, whoever adds one
    assert sorted(graphs) == sorted({"left"} | samples)
