"""10,000 waiting runs hold nothing in the process: no task, no thread, and memory that does
not grow with the number of runs waiting (everything about them is in the database)."""

from __future__ import annotations

import asyncio
import gc
import threading
import tracemalloc
from pathlib import Path

import pytest

import graphflow
from graphflow.service import Workspace
from storage import open_store

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

WAIT = {"schema_version": 1, "id": "wait", "nodes": [
    {"id": "in", "kind": "input", "config": {"name": "x", "type": "integer"}},
    {"id": "wait", "kind": "wait_event", "config": {"event": "go"}},
    {"id": "out", "kind": "output", "config": {"name": "y"}}],
    "edges": [{"id": "a", "source": "in", "target": "wait"}, {"id": "b", "source": "wait", "target": "out"}]}


def traced() -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


async def test_ten_thousand_waiting_runs_in_flat_memory(tmp_path: Path) -> None:
    async with open_store(tmp_path / "many.db") as store:
        ws = Workspace(store, graphflow.default_registry(installed=False))
        graph = await ws.save(WAIT)
        for i in range(200):  # warm up: caches, pools, first compilations
            await ws.run(graph, {"x": i})
        tasks, threads = len(asyncio.all_tasks()), threading.active_count()
        tracemalloc.start()
        try:
            before = traced()
            for i in range(10_000):
                assert (await ws.run(graph, {"x": i})).status == "waiting"
            grown = traced() - before
        finally:
            tracemalloc.stop()
        assert len(await ws.waits()) == 10_200
        assert ws.running() == []
        assert len(asyncio.all_tasks()) == tasks and threading.active_count() == threads
        assert grown < 10_000 * 64, f"{grown / 10_000:.0f} bytes kept per waiting run"
        sent = await ws.send((await ws.waits())[0].run_id, "go", 1)  # and they still continue
        assert sent.result is not None and sent.result.status == "succeeded"
