"""What only the SQLite store has: the file, its pragmas, migrations, refusals, one writer."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import pytest
from old_schema import create_schema

import graphflow
from graphflow import events as ev
from graphflow.ports import NotFound
from graphflow.storage import StorageError, default_db_path, open_store
from graphflow.storage.schema import APPLICATION_ID, LATEST_VERSION

pytestmark = pytest.mark.anyio


def started(run_id: str, graph_id: str = "g") -> ev.RunStarted:
    return ev.RunStarted(run_id=run_id, seq=0, at=1.0, graph_id=graph_id, node_ids=["n"])


def node_started(run_id: str, seq: int) -> ev.NodeStarted:
    return ev.NodeStarted(run_id=run_id, seq=seq, at=1.0 + seq, node_id="n")


async def publish_run(store: Any, count: int, *, flush_every: int = 0) -> None:
    """Run r1's first ``count`` events (its start, then node starts), flushed every ``flush_every``."""
    await store.publish(started("r1"))
    for seq in range(1, count):
        await store.publish(node_started("r1", seq))
        if flush_every and seq % flush_every == 0:
            await store.flush()


def raw(path: Path, sql: str) -> list[Any]:
    conn = sqlite3.connect(path)
    try:
        with conn:
            return conn.execute(sql).fetchall()
    finally:
        conn.close()


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


async def test_pragmas_and_schema_version(tmp_path):
    async with open_store(tmp_path / "g.db") as store:
        pragmas = await store.pragmas()
        read_pragmas = {row[0]: row[1] for row in await store._db.fetchall(
            "SELECT 'foreign_keys', foreign_keys FROM pragma_foreign_keys UNION ALL "
            "SELECT 'synchronous', synchronous FROM pragma_synchronous UNION ALL "
            "SELECT 'query_only', query_only FROM pragma_query_only")}
    assert pragmas == {"journal_mode": "wal", "synchronous": 1, "foreign_keys": 1, "busy_timeout": 5000,
                       "user_version": LATEST_VERSION, "application_id": APPLICATION_ID}
    assert read_pragmas == {"foreign_keys": 1, "synchronous": 1, "query_only": 1}
    assert raw(tmp_path / "g.db", "PRAGMA journal_mode") == [("wal",)]  # persistent in the file
    assert raw(tmp_path / "g.db", "PRAGMA user_version") == [(LATEST_VERSION,)]


async def test_a_draft_outlives_a_restart(tmp_path):
    path = tmp_path / "g.db"
    async with open_store(path) as store:
        await store.save_graph(graphflow.GraphSpec(schema_version=1, id="g", name="G"))
        await store.save_draft("g", 1, {"id": "g", "nodes": [{"id": "half", "kind": "built"}]})
    async with open_store(path) as store:
        draft = await store.get_draft("g")
    assert draft is not None and (draft.base_version, draft.graph["nodes"]) == (1, [{"id": "half", "kind": "built"}])


async def test_reopening_keeps_the_data_and_the_run_logs_continue(tmp_path):
    path = tmp_path / "g.db"
    async with open_store(path) as store:
        await store.put("ns", "k", {"v": 1})
        await store.publish(started("r1"))
        await store.publish(node_started("r1", 1))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.db"]  # WAL checkpointed and removed at close
    async with open_store(path) as store:
        assert await store.get("ns", "k") == {"v": 1}
        assert [r.run_id for r in await store.unfinished_runs()] == ["r1"]
        with pytest.raises(ValueError, match="not the next one"):
            await store.publish(node_started("r1", 1))
        await store.publish(node_started("r1", 2))  # a resumed run goes on from the stored seq
        assert [e.seq for e in await store.load_events("r1")] == [0, 1, 2]
        assert (await store.get_run("r1")).last_seq == 2


@pytest.mark.parametrize("content", [b"hello, this is my shopping list\n", b"\x00" * 4096, b"SQLite format 2\x00xx"])
async def test_a_file_that_is_not_sqlite_is_refused_untouched(tmp_path, content):
    path = tmp_path / "notes.db"
    path.write_bytes(content)
    with pytest.raises(StorageError, match="is not a SQLite database") as info:
        async with open_store(path):
            pass
    assert str(path) in str(info.value) and info.value.path == path
    assert snapshot(tmp_path) == {"notes.db": content}


@pytest.mark.parametrize("setup", [
    "CREATE TABLE contacts (name TEXT); INSERT INTO contacts VALUES ('ada')",
    "CREATE TABLE graphs (graph_id TEXT)",  # a name we use, but not our database
    "CREATE TABLE contacts (name TEXT); PRAGMA user_version = 1",
    "PRAGMA user_version = 7",
])
async def test_another_programs_database_is_refused_untouched(tmp_path, setup):
    path = tmp_path / "theirs.db"
    conn = sqlite3.connect(path)
    conn.executescript(setup)
    conn.close()
    before = snapshot(tmp_path)
    with pytest.raises(StorageError, match="another program") as info:
        async with open_store(path):
            pass
    assert str(path) in str(info.value)
    assert snapshot(tmp_path) == before


async def test_a_newer_schema_is_refused_untouched(tmp_path):
    path = tmp_path / "g.db"
    async with open_store(path) as store:
        await store.put("ns", "k", 1)
    raw(path, "PRAGMA user_version = 99")
    before = snapshot(tmp_path)
    with pytest.raises(StorageError, match=rf"schema version 99, newer than this graphflow knows \({LATEST_VERSION}\)"):
        async with open_store(path):
            pass
    assert snapshot(tmp_path) == before


async def test_an_unreachable_path_is_a_storage_error(tmp_path):
    with pytest.raises(StorageError, match="cannot open"):
        async with open_store(tmp_path / "missing" / "g.db"):
            pass


async def test_default_path(tmp_path, monkeypatch):
    monkeypatch.setenv("GRAPHFLOW_DB", str(tmp_path / "env" / "mine.db"))
    assert default_db_path() == tmp_path / "env" / "mine.db" and (tmp_path / "env").is_dir()
    async with open_store() as store:
        assert store.path == tmp_path / "env" / "mine.db"
    monkeypatch.delenv("GRAPHFLOW_DB")
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_db_path() == tmp_path / "home" / ".local" / "share" / "graphflow" / "graphflow.db"
    assert (tmp_path / "home" / ".local" / "share" / "graphflow").is_dir()


async def test_sixteen_writers_and_a_second_store_never_see_a_locked_database(tmp_path):
    path = tmp_path / "g.db"
    n = 1000
    async with open_store(path) as store:  # creates and migrates the file before the other store opens it

        async def kv_writer(w: int) -> None:
            for i in range(n):
                await store.put(f"w{w}", str(i), {"i": i})

        async def run_writer(w: int) -> None:
            await store.publish(started(f"run{w}"))
            for seq in range(1, n):
                await store.publish(node_started(f"run{w}", seq))
                if seq % 100 == 0:
                    await anyio.lowlevel.checkpoint()

        def other_store() -> None:  # its own event loop, connections and writer, on the same file
            async def main() -> None:
                async with open_store(path) as other:
                    await other.publish(started("other_run", "other_graph"))
                    for i in range(1, n):
                        await other.put("other", str(i), i)
                        await other.publish(node_started("other_run", i))
            anyio.run(main)

        async with anyio.create_task_group() as tg:
            tg.start_soon(anyio.to_thread.run_sync, other_store)
            for w in range(8):
                tg.start_soon(kv_writer, w)
                tg.start_soon(run_writer, w)
        await store.flush()
        for w in range(8):
            assert len(await store.items(f"w{w}")) == n
            assert len(await store.load_events(f"run{w}")) == n
        assert len(await store.items("other")) == n - 1
        assert (await store.get_run("other_run")).last_seq == n - 1
        assert store.writer.batches < 8 * n  # awaited puts from concurrent tasks share transactions


async def test_records_published_between_other_work_share_the_flushs_transaction(tmp_path):
    async with open_store(tmp_path / "g.db") as store:
        await store.publish(started("r1"))
        await store.flush()
        before = store.writer.batches
        for seq in range(1, 21):
            await store.publish(node_started("r1", seq))
            await anyio.lowlevel.checkpoint()  # the loop runs other tasks (the writer too) in between
        await store.flush()
        # the first record waits for the rest instead of going alone (was about one transaction per record)
        assert store.writer.batches - before <= 2
        assert len(await store.load_events("r1")) == 21


async def test_runs_ending_together_store_their_events_in_one_insert_between_their_leases(tmp_path):
    """Sixteen runs' events queued between their leases' claims and releases (submitted
    operations, as a server running many runs queues them) go through one ``apply_records``."""
    async with open_store(tmp_path / "g.db") as store:
        calls: list[int] = []
        apply = store.writer.apply_records

        def counted(conn, records):
            calls.append(len(records))
            apply(conn, records)

        store.writer.apply_records = counted
        for n in range(16):
            store.claim_new_run(f"r{n}", "me", 30, now=1.0)
            await store.publish(started(f"r{n}"))
            await store.publish(node_started(f"r{n}", 1))
            store.release_lease(f"r{n}", "me")
        await store.flush()
        assert calls == [32]
        assert [len(await store.load_events(f"r{n}")) for n in range(16)] == [2] * 16
        assert [await store.lease_of(f"r{n}") for n in range(16)] == [None] * 16


async def test_a_workspace_run_is_two_transactions(tmp_path):
    from graphflow.registry import default_registry
    from graphflow.service import Workspace

    graph = {"schema_version": 1, "id": "g", "nodes": [{"id": "a", "kind": "input", "config": {"name": "x"}},
                                                       {"id": "b", "kind": "output", "config": {"name": "y"}}],
             "edges": [{"id": "e", "source": "a", "target": "b"}]}
    async with open_store(tmp_path / "g.db") as store:
        workspace = Workspace(store, default_registry())
        stored = await workspace.save(graph)
        await workspace.run(stored, {"x": 1})
        before = store.writer.batches
        result = await workspace.run(stored, {"x": 2})
        assert result.ok and result.outputs == {"y": 2}
        # the lease, run_started and the flush before the first node; then the nodes, the end and the release
        assert store.writer.batches - before <= 3
        assert (await store.get_run(result.run_id)).status == "succeeded"


async def test_small_batches_commit_without_a_thread_hop(tmp_path, monkeypatch):
    hops: list[object] = []
    real = anyio.to_thread.run_sync

    async def counted(func, *args, **kwargs):
        hops.append(func)
        return await real(func, *args, **kwargs)

    async with open_store(tmp_path / "g.db") as store:
        monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
        await store.publish(started("r1"))
        await store.flush()
        for seq in range(1, 50):
            await store.publish(node_started("r1", seq))
        await store.flush()
        assert hops == []  # committed on the loop's thread: the lock was free
        await store.put("ns", "k", 1)  # an awaited operation may be anything: the writer's thread
        assert len(hops) == 1
        monkeypatch.undo()
        assert len(await store.load_events("r1")) == 50


async def test_a_lock_held_by_another_connection_is_waited_for_in_the_thread(tmp_path):
    path = tmp_path / "g.db"
    async with open_store(path) as store:
        await store.publish(started("r1"))
        await store.flush()
        other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")  # another process writing
        await store.publish(node_started("r1", 1))
        async with anyio.create_task_group() as tg:
            tg.start_soon(store.flush)
            await anyio.sleep(0.2)
            assert raw(path, "SELECT count(*) FROM events") == [(1,)]
            other.execute("COMMIT")
        other.close()
        assert len(await store.load_events("r1")) == 2
        assert (await store.pragmas())["busy_timeout"] == 5000


async def test_the_wal_is_checkpointed_by_the_writer(tmp_path):
    path = tmp_path / "g.db"
    async with open_store(path) as store:
        await publish_run(store, 4000, flush_every=2)  # 2,000 transactions: some 40 MB of WAL if nothing checkpointed
        wal = path.with_name(path.name + "-wal").stat().st_size
        assert wal < 16 * 2**20, wal
        assert len(await store.load_events("r1")) == 4000


async def test_close_writes_what_is_queued_and_returns(tmp_path):
    path = tmp_path / "g.db"
    async with open_store(path) as store:
        await publish_run(store, 500)
        await store.close()  # not flushed before: close writes the queue
        await store.close()  # idempotent
        with pytest.raises(StorageError, match="closed"):
            await store.publish(node_started("r1", 500))
    assert raw(path, "SELECT count(*), max(seq) FROM events") == [(500, 499)]


async def test_a_cancelled_block_still_writes_the_queue(tmp_path):
    path = tmp_path / "g.db"
    with anyio.CancelScope() as scope:
        async with open_store(path) as store:
            await store.publish(started("r1"))
            for seq in range(1, 100):
                await store.publish(node_started("r1", seq))
            scope.cancel()
            await anyio.sleep_forever()
    assert raw(path, "SELECT count(*) FROM events") == [(100,)]


async def test_errors_in_the_block_propagate_unwrapped(tmp_path):
    with pytest.raises(NotFound):
        async with open_store(tmp_path / "g.db") as store:
            await store.delete_graph("missing")


async def test_a_failing_write_stops_only_its_own_run_and_never_leaves_a_gap(tmp_path):
    path = tmp_path / "g.db"
    async with open_store(path) as store:
        raw(path, "CREATE TRIGGER poison BEFORE INSERT ON events WHEN NEW.run_id = 'bad' AND NEW.seq = 1 "
                  "BEGIN SELECT RAISE(ABORT, 'poisoned'); END")
        for run_id in ("good", "bad"):
            await store.publish(started(run_id))
        for seq in range(1, 4):
            for run_id in ("good", "bad"):
                await store.publish(node_started(run_id, seq))
        await store.put("ns", "k", "kept")  # shares the batch that fails
        with pytest.raises(StorageError, match=r"could not store event 1 \(node_started\) of run 'bad'.*poisoned"):
            await store.flush()
        await store.flush()  # reported once
        assert [e.seq for e in await store.load_events("good")] == [0, 1, 2, 3]
        assert [e.seq for e in await store.load_events("bad")] == [0]  # not [0, 2, 3]: its log stops there
        assert await store.get("ns", "k") == "kept"
        with pytest.raises(StorageError, match="run bad stopped: could not store event 1"):
            await store.publish(node_started("bad", 4))


async def test_an_operation_that_raises_does_not_undo_its_batch(tmp_path):
    async with open_store(tmp_path / "g.db") as store:
        await store.publish(started("r1"))
        for seq in range(1, 100):
            await store.publish(node_started("r1", seq))  # queued, not yet written
        batches = store.writer.batches
        with pytest.raises(NotFound):
            await store.delete_graph("missing")  # joins the events' batch and fails in it
        assert store.writer.batches == batches + 1  # the rest was written again as one transaction
        assert len(await store.load_events("r1")) == 100
        await store.flush()


async def test_review_items(tmp_path):
    async with open_store(tmp_path / "g.db") as store:
        await store.publish(started("r1"))
        item = await store.add_review_item("r1", "n", {"question": "ship it?"})
        assert [i.id for i in await store.list_review_items()] == [item.id]
        decided = await store.decide_review_item(item.id, "approved", {"by": "ada"})
        assert (decided.status, decided.decision) == ("approved", {"by": "ada"})
        assert decided.payload == {"question": "ship it?"}
        assert decided.decided_at is not None
        assert await store.list_review_items() == []
        assert await store.list_review_items("approved") == [decided]
        with pytest.raises(ValueError, match="already decided"):
            await store.decide_review_item(item.id, "rejected")
        with pytest.raises(NotFound):
            await store.decide_review_item("nope", "approved")
        await store.delete_graph("g")  # a run's items go with it
        assert await store.list_review_items(None) == []


async def test_a_write_failure_nobody_flushed_is_raised_at_close(tmp_path):
    path = tmp_path / "g.db"
    with pytest.raises(StorageError, match="could not store event 1"):
        async with open_store(path) as store:
            raw(path, "CREATE TRIGGER poison BEFORE INSERT ON events WHEN NEW.seq = 1 "
                      "BEGIN SELECT RAISE(ABORT, 'poisoned'); END")
            await store.publish(started("r1"))
            await store.publish(node_started("r1", 1))
    assert raw(path, "SELECT seq FROM events") == [(0,)]


async def test_a_version_1_database_is_migrated_and_keeps_its_runs(tmp_path):
    path = tmp_path / "g.db"
    conn = sqlite3.connect(path, isolation_level=None)
    create_schema(conn, 1)
    conn.execute("PRAGMA user_version = 1")
    conn.close()
    async with open_store(path) as store:
        await store.publish(started("r1"))
        store.claim_new_run("r1", "me", 10, now=1.0)
        await store.flush()
        assert (await store.lease_of("r1")).owner == "me"


async def test_leases_taken_before_they_were_keyed_by_run_alone_are_kept(tmp_path):
    path = tmp_path / "g.db"
    conn = sqlite3.connect(path, isolation_level=None)
    create_schema(conn, 9)
    conn.execute("INSERT INTO run_leases VALUES ('r1', 'other:1', 1e12)")
    conn.execute("PRAGMA user_version = 9")
    conn.close()
    async with open_store(path) as store:
        assert (await store.lease_of("r1")).owner == "other:1"
    (sql,) = raw(path, "SELECT sql FROM sqlite_schema WHERE name = 'run_leases'")[0]
    assert "WITHOUT ROWID" in sql


async def test_a_version_1_database_with_output_ref_in_its_events_still_reads_back(tmp_path):
    """Version 1 stored ``output_ref: null`` in every node success; the field is gone from the model."""
    path = tmp_path / "v1.db"
    conn = sqlite3.connect(path)
    with conn:
        create_schema(conn, 1)
        conn.execute("INSERT INTO graphs VALUES ('g', '', 1, 1)")
        conn.execute("INSERT INTO runs (run_id, graph_id, status, started_at, last_seq) "
                     "VALUES ('r1', 'g', 'running', 1, 1)")
        conn.execute("INSERT INTO events VALUES ('r1', 0, 'run_started', NULL, 1, ?)",
                     (started("r1").model_dump_json(),))
        body = ('{"run_id": "r1", "seq": 1, "at": 2.0, "kind": "node_succeeded", "node_id": "n", "attempt": 1, '
                '"output": {"out": 1}, "output_ref": null}')
        conn.execute("INSERT INTO events VALUES ('r1', 1, 'node_succeeded', 'n', 2, ?)", (body,))
        conn.execute("PRAGMA user_version = 1")
    conn.close()
    async with open_store(path) as store:
        events = await store.load_events("r1")
    assert [e.kind for e in events] == ["run_started", "node_succeeded"]
    assert isinstance(events[1], ev.NodeSucceeded) and events[1].output == {"out": 1}
    assert raw(path, "PRAGMA user_version") == [(LATEST_VERSION,)]


async def test_a_database_with_node_outputs_rows_drops_them_and_reads_checkpoints_from_the_events(tmp_path):
    """Version 10 kept each node's output twice (its event and a ``node_outputs`` row); the row is gone."""
    path = tmp_path / "v10.db"
    conn = sqlite3.connect(path)
    with conn:
        create_schema(conn, 10)
        conn.execute("INSERT INTO graphs VALUES ('g', '', 1, 1)")
        conn.execute("INSERT INTO runs (run_id, graph_id, status, started_at, last_seq) "
                     "VALUES ('r1', 'g', 'running', 1, 2)")
        events = [started("r1"),
                  ev.NodeSucceeded(run_id="r1", seq=1, at=2.0, node_id="n", output={"out": 1}),
                  ev.NodeSucceeded(run_id="r1", seq=2, at=3.0, node_id="n", attempt=1, output={"out": 2})]
        for e in events:
            conn.execute("INSERT INTO events VALUES ('r1', ?, ?, ?, ?, ?)",
                         (e.seq, e.kind, getattr(e, "node_id", None), e.at, e.model_dump_json()))
        conn.execute("INSERT INTO node_outputs VALUES ('r1', 'n', '{\"out\": 2}', 1)")
        conn.execute("PRAGMA user_version = 10")
    conn.close()
    async with open_store(path) as store:
        assert await store.node_outputs("r1") == {"n": {"out": 2}}  # the last success of a node that ran twice
        assert await store.load_events("r1") == events
    assert raw(path, "SELECT name FROM sqlite_schema WHERE name = 'node_outputs'") == []
    assert raw(path, "PRAGMA user_version") == [(LATEST_VERSION,)]
