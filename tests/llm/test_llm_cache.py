"""The node cache policy applies to model calls: an identical request within the TTL is answered
from the cache (the event says cached, cost 0, the server sees nothing), and the cache never
holds the credential."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from helpers import llm_graph, point_providers

import graphflow
from graphflow.storage import open_store

pytestmark = pytest.mark.anyio

KEY = "sk-planted-cache-secret-4242"


async def test_an_identical_call_is_answered_from_the_cache(llm_server, monkeypatch, tmp_path: Path):
    monkeypatch.setenv("GRAPHFLOW_SECRET_FAKE", KEY)
    point_providers(llm_server)
    graph = llm_graph({"prompt": "Q: {question}", "stream": False}, node={"cache": {"enabled": True, "ttl": 3600}})
    db = tmp_path / "g.db"
    async with open_store(db) as store:
        first = await graphflow.run(graph, {"question": "why?"}, sinks=[store], cache=store)
        second = await graphflow.run(graph, {"question": "why?"}, sinks=[store], cache=store)
        other = await graphflow.run(graph, {"question": "how?"}, sinks=[store], cache=store)
        await store.flush()
    assert first.ok and second.ok and other.ok
    assert len(llm_server.requests) == 2  # "why?" once, "how?" once
    assert second.outputs["answer"] == first.outputs["answer"] == "echo: Q: why?"
    done = next(e for e in second.events if e.kind == "node_succeeded" and e.node_id == "llm")
    assert done.cached and done.cost == 0
    assert first.cost > 0 and second.cost == 0
    files_without(KEY, db)


def files_without(secret: str, db: Path) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for path in db.parent.iterdir():
        assert secret.encode() not in path.read_bytes(), path
