"""Hostile storage: foreign, newer, damaged, read-only and full databases, and failing writes.

Each one is refused or reported in one line (exit 2 from the command line), never with a
traceback, and never changes the file it refused. Read-only and full files are made with a
tmpfs when running as root (root ignores file modes), else with file modes.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from needs import unavailable

from graphflow.storage import StorageError, open_store

SAMPLE = Path(__file__).resolve().parents[2] / "sample_graphs" / "sequential_chain.json"


def graphflow_cli(*args: str, db: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GRAPHFLOW_DB": str(db), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "graphflow.ui.cli", *args], capture_output=True, text=True,
                          env=env, timeout=60)


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def one_line_exit_2(done: subprocess.CompletedProcess[str], *words: str) -> str:
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, done.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert "Traceback" not in done.stderr and "ExceptionGroup" not in done.stderr
    for word in words:
        assert word in lines[0]
    return lines[0]


def make_graphflow_db(path: Path) -> None:
    done = graphflow_cli("run", str(SAMPLE), "--example", "-q", db=path)
    assert done.returncode == 0, done.stderr


@contextlib.contextmanager
def tmpfs(folder: Path, size: str) -> Iterator[bool]:
    """A small tmpfs at ``folder`` when root can mount one; False otherwise."""
    folder.mkdir()
    if os.geteuid() != 0:
        yield False
        return
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                             capture_output=True).returncode == 0
    try:
        yield mounted
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(folder)], check=False)


@contextlib.contextmanager
def read_only(folder: Path, db: Path, *, whole_folder: bool) -> Iterator[None]:
    """Make ``db`` (or its whole folder) read-only for this process's user."""
    if os.geteuid() == 0:
        if subprocess.run(["mount", "-o", "remount,ro", str(folder)], capture_output=True).returncode != 0:
            unavailable("cannot remount the tmpfs read-only here")
        try:
            yield
        finally:
            subprocess.run(["mount", "-o", "remount,rw", str(folder)], check=False)
        return
    target = folder if whole_folder else db
    mode = target.stat().st_mode
    target.chmod(0o555 if whole_folder else 0o444)
    try:
        yield
    finally:
        target.chmod(mode)


# -- foreign files -----------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("setup", [
    "CREATE VIEW v AS SELECT 1", "CREATE VIEW answer AS SELECT 42; ANALYZE",
])
async def test_a_file_holding_only_a_view_is_refused_untouched(tmp_path, setup):
    path = tmp_path / "theirs.db"
    conn = sqlite3.connect(path)
    conn.executescript(setup)
    conn.close()
    before = files(tmp_path)
    with pytest.raises(StorageError, match="another program"):
        async with open_store(path):
            pass
    assert files(tmp_path) == before


@pytest.mark.anyio
@pytest.mark.parametrize("extra", ["CREATE TABLE contacts (name TEXT)", "CREATE VIEW recent AS SELECT * FROM runs",
                                   "CREATE INDEX mine ON runs (status)"])
async def test_a_graphflow_file_with_objects_graphflow_did_not_create_is_refused_untouched(tmp_path, extra):
    path = tmp_path / "g.db"
    async with open_store(path) as store:
        await store.put("ns", "k", 1)
    conn = sqlite3.connect(path)
    conn.executescript(extra)
    conn.close()
    before = files(tmp_path)
    with pytest.raises(StorageError, match="objects graphflow did not create"):
        async with open_store(path):
            pass
    assert files(tmp_path) == before


# -- the command line: one line, exit 2 ----------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("command", [
    ["run", str(SAMPLE), "--example"], ["graphs"], ["runs"], ["show", "r1"], ["resume", "r1"], ["stats", "g"],
    ["export", "g"], ["import", str(SAMPLE)],
])
def test_every_command_on_a_file_that_is_not_graphflows_prints_one_line(tmp_path, command):
    db = tmp_path / "notes.db"
    db.write_text("my shopping list\n")
    one_line_exit_2(graphflow_cli(*command, "--db", str(db), db=db), "is not a SQLite database")
    assert files(tmp_path) == {"notes.db": b"my shopping list\n"}


def test_run_on_a_newer_schema_prints_one_line(tmp_path):
    db = tmp_path / "g.db"
    make_graphflow_db(db)
    with contextlib.closing(sqlite3.connect(db)) as conn:
        conn.execute("PRAGMA user_version = 99")
    before = files(tmp_path)
    one_line_exit_2(graphflow_cli("run", str(SAMPLE), "--example", db=db), "newer than this graphflow knows")
    assert files(tmp_path) == before


def test_run_on_a_damaged_database_prints_one_line(tmp_path):
    db = tmp_path / "g.db"
    make_graphflow_db(db)
    data = bytearray(db.read_bytes())
    data[100:3000] = b"\xff" * 2900  # the schema page, after an intact header
    db.write_bytes(bytes(data))
    one_line_exit_2(graphflow_cli("run", str(SAMPLE), "--example", db=db), str(db))


@pytest.mark.parametrize("whole_folder", [False, True], ids=["file", "folder"])
def test_a_read_only_database_is_refused_at_open_and_leaves_no_wal_files(tmp_path, whole_folder):
    folder = tmp_path / "data"
    with tmpfs(folder, "4M"):
        db = folder / "g.db"
        make_graphflow_db(db)
        for leftover in folder.glob("g.db-*"):
            leftover.unlink()
        before = files(folder)
        with read_only(folder, db, whole_folder=whole_folder):
            for command in (["graphs"], ["run", str(SAMPLE), "--example"]):
                line = one_line_exit_2(graphflow_cli(*command, "--db", str(db), db=db), "read-only")
                assert str(db) in line
            assert files(folder) == before  # no -wal, no -shm


def test_run_on_a_full_disk_prints_one_line(tmp_path):
    folder = tmp_path / "small"
    with tmpfs(folder, "1M") as mounted:
        if not mounted:
            unavailable("a full disk needs a small tmpfs (root)")
        db = folder / "g.db"
        make_graphflow_db(db)
        with (folder / "filler").open("wb", buffering=0) as filler, contextlib.suppress(OSError):
            while True:
                filler.write(b"\0" * 65536)
                filler.flush()
        one_line_exit_2(graphflow_cli("run", str(SAMPLE), "--example", db=db), str(db))


# -- a write that fails mid-run ------------------------------------------------------------------


class FullDisk:
    """The writer's SQLite connection, with every COMMIT failing as on a full disk while ``full``."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn, self.full = conn, False

    def execute(self, sql: str, *args: object) -> object:
        if self.full and sql == "COMMIT":
            raise sqlite3.OperationalError("database or disk is full")
        return self.conn.execute(sql, *args)

    def __getattr__(self, name: str) -> object:
        return getattr(self.conn, name)


CHAIN = 6


def chain_spec() -> dict:
    nodes = [{"id": "in", "kind": "input", "config": {"name": "x", "type": "integer"}}]
    edges, prev = [], "in"
    for i in range(CHAIN):
        nodes.append({"id": f"s{i}", "kind": "function", "config": {"function": "t.step"}})
        edges.append({"id": f"e{i}", "source": prev, "target": f"s{i}"})
        prev = f"s{i}"
    nodes.append({"id": "out", "kind": "output", "config": {"name": "x"}})
    edges.append({"id": "e_out", "source": prev, "target": "out"})
    return {"schema_version": 1, "id": "chain", "nodes": nodes, "edges": edges}


def committed(path: Path, sql: str) -> list:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return conn.execute(sql).fetchall()


@pytest.mark.anyio
async def test_a_full_disk_stops_the_run_without_a_gap_and_it_resumes_cleanly_once_space_is_back(tmp_path):
    import anyio

    import graphflow
    from graphflow.service import Workspace

    path, calls, resumed = tmp_path / "g.db", [], False
    registry = graphflow.default_registry(installed=False)
    async with open_store(path) as store:
        disk = FullDisk(store.writer.conn)
        store.writer.conn = disk  # type: ignore[assignment]

        async def step(value: int, ctx: graphflow.NodeContext) -> int:
            calls.append(ctx.node_id)
            if len(calls) == 3 and ctx.run_id == "r1" and not resumed:
                disk.full = True  # the disk fills up while the third node runs
            await anyio.sleep(0.05)
            return value + 1

        registry.register_function("t.step", step)
        ws = Workspace(store, registry)
        await ws.save(graphflow.load_graph(chain_spec()))
        with pytest.raises(StorageError, match="database or disk is full"):
            await ws.run("chain", {"x": 0}, run_id="r1")
        assert len(calls) < CHAIN  # it stopped executing new nodes
        seqs = [r[0] for r in committed(path, "SELECT seq FROM events WHERE run_id = 'r1' ORDER BY seq")]
        assert seqs == list(range(len(seqs)))  # no gap
        assert committed(path, "SELECT status FROM runs") == [("running",)]
        done_before = {r[0] for r in committed(path, "SELECT node_id FROM events WHERE kind = 'node_succeeded'")}

        disk.full, resumed = False, True  # space is back: the same process resumes it
        calls.clear()
        result = await ws.resume("r1")
        assert result.ok and result.outputs == {"x": CHAIN}
    kinds = [r[0] for r in committed(path, "SELECT kind FROM events WHERE run_id = 'r1' ORDER BY seq")]
    seqs = [r[0] for r in committed(path, "SELECT seq FROM events WHERE run_id = 'r1' ORDER BY seq")]
    assert seqs == list(range(len(seqs))) and kinds.count("run_finished") == 1 and kinds[-1] == "run_finished"
    assert not done_before & set(calls)  # a committed success is never run again
    successes = [r[0] for r in committed(path, "SELECT node_id FROM events WHERE kind = 'node_succeeded'")]
    assert len(successes) == len(set(successes)) == CHAIN + 2
