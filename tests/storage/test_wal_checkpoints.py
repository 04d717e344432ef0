"""WAL checkpoints: the bulk copied in a thread of their own, the WAL still starting over."""

from __future__ import annotations

import threading

import pytest

from graphflow import events as ev
from graphflow.storage import open_store

pytestmark = pytest.mark.anyio


def checkpoint_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("checkpoints ")]


async def test_the_bulk_is_copied_beside_the_writer_and_the_wal_stays_small(tmp_path):
    path = tmp_path / "g.db"
    async with open_store(path) as store:
        await store.publish(ev.RunStarted(run_id="r1", seq=0, at=1.0, graph_id="g", node_ids=["n"]))
        for seq in range(1, 6000):
            await store.publish(ev.NodeStarted(run_id="r1", seq=seq, at=1.0 + seq, node_id="n"))
            if seq % 2 == 0:
                await store.flush()  # 3,000 transactions: some 50 MB of WAL if it never started over
        checkpoints = store._db.writer.checkpoints
        assert checkpoints.done >= 2  # bulk copies ran in their thread, not on the writer's connection
        assert path.with_name(path.name + "-wal").stat().st_size < 16 * 2**20
        assert len(await store.load_events("r1")) == 6000
    assert checkpoint_threads() == []  # closing the store stops its thread


async def test_a_store_closed_during_a_copy_ends_it_and_loses_nothing(tmp_path):
    path = tmp_path / "g.db"
    async with open_store(path) as store:
        await store.publish(ev.RunStarted(run_id="r1", seq=0, at=1.0, graph_id="g", node_ids=["n"]))
        for seq in range(1, 500):
            await store.publish(ev.NodeStarted(run_id="r1", seq=seq, at=1.0 + seq, node_id="n"))
        await store.flush()
        store._db.writer.checkpoints.request()
    assert checkpoint_threads() == []
    async with open_store(path) as store:
        assert len(await store.load_events("r1")) == 500
