"""The node cache policy applies to model calls: an identical request within the TTL is answered
from the cache (the event says cached, cost 0, the server sees nothing), and the cache never
holds the credential."""

from __future__ import annotations

import os
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


async def test_the_cache_key_holds_the_server_and_the_model(llm_server, tmp_path: Path):
    """The same graph and prompt through a provider pointed at another server, or whose default
    model changed, is a new call: the entry of one server never answers for another."""
    from llm_server import FakeLLM

    graph = llm_graph({"prompt": "Q: {question}", "stream": False}, node={"cache": {"enabled": True, "ttl": 3600}})
    async with open_store(tmp_path / "g.db") as store:
        with FakeLLM(model="other") as other:
            path = point_providers(llm_server, secret=None)
            first = await graphflow.run(graph, {"question": "why?"}, cache=store)
            point_providers(other, secret=None)
            bump(path)
            second = await graphflow.run(graph, {"question": "why?"}, cache=store)
            again = await graphflow.run(graph, {"question": "why?"}, cache=store)
            assert len(other.requests) == 1  # asked once, then answered from its own entry
        point_providers(llm_server, secret=None)
        text = path.read_text().replace('"default_model": "small"', '"default_model": "large"')
        path.write_text(text)
        bump(path)
        third = await graphflow.run(graph, {"question": "why?"}, cache=store)
    assert first.ok and second.ok and again.ok and third.ok
    assert [r.body["model"] for r in llm_server.requests] == ["small", "large"]
    assert not first_event(first).cached and not first_event(second).cached and not first_event(third).cached
    assert first_event(again).cached


def bump(path: Path) -> None:
    """A new modification time, so the providers file is read again even within one clock tick."""
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def first_event(result):
    return next(e for e in result.events if e.kind == "node_succeeded" and e.node_id == "llm")
