"""Large output values are stored once per run and read back exactly (storage/blobs.py)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import graphflow
from graphflow.storage import open_store
from graphflow.storage.blobs import BLOB_BYTES, MARKER

pytestmark = pytest.mark.anyio

BIG = {"text": "x" * (3 * BLOB_BYTES), "n": 1}
SHAPED_LIKE_A_REF = {MARKER: "not-a-hash"}


def graph(value):
    return {"schema_version": 1, "id": "g", "nodes": [
        {"id": "c", "kind": "constant", "config": {"value": value}},
        {"id": "small", "kind": "constant", "config": {"value": SHAPED_LIKE_A_REF}},
        {"id": "o", "kind": "output", "config": {"name": "big"}},
        {"id": "o2", "kind": "output", "config": {"name": "odd"}}],
        "edges": [{"id": "e", "source": "c", "target": "o"}, {"id": "e2", "source": "small", "target": "o2"}]}


def stored_bytes(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        return {table: conn.execute(f"SELECT coalesce(sum(length({column})), 0) FROM {table}").fetchone()[0]
                for table, column in (("events", "body_json"), ("runs", "outputs_json"), ("blobs", "body_json"))}


async def test_a_large_output_is_stored_once_and_reads_back_everywhere(tmp_path: Path):
    db = tmp_path / "g.db"
    async with open_store(db) as store:
        result = await graphflow.run(graph(BIG), sinks=[store])
        await store.flush()
        run_id = result.run_id
        assert result.outputs == {"big": BIG, "odd": SHAPED_LIKE_A_REF}
        assert (await store.get_run(run_id)).outputs == {"big": BIG, "odd": SHAPED_LIKE_A_REF}
        assert (await store.list_runs("g"))[0].outputs["big"] == BIG
        checkpoints = await store.node_outputs(run_id)
        assert checkpoints["c"] == {"out": BIG} and checkpoints["small"] == {"out": SHAPED_LIKE_A_REF}
        events = await store.load_events(run_id)
        assert events == result.events
        assert (await store.runs_for_stats("g"))[0] == result.events
    sizes = stored_bytes(db)
    big = len(graphflow_json(BIG))
    assert big <= sizes["blobs"] < big + 1000  # once, in blobs (plus the small odd object)
    assert sizes["events"] + sizes["runs"] < 20_000  # references, not copies


async def test_a_run_deleted_with_its_graph_takes_its_blobs(tmp_path: Path):
    db = tmp_path / "g.db"
    async with open_store(db) as store:
        await store.save_graph(graphflow.load_graph(graph(BIG)))
        await graphflow.run(graph(BIG), sinks=[store])
        await store.flush()
        await store.delete_graph("g")
    assert stored_bytes(db)["blobs"] == 0


def graphflow_json(value) -> str:
    from pydantic_core import to_json

    return to_json(value).decode()
