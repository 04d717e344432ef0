"""The engine workloads with persistence on, and SQLite under concurrent writers.

    python benchmarks/durable.py [--repeat 5]

Each workload runs twice in the same process: in memory (no sink) and durable (every
event through ``SqliteStore`` in a fresh temp file, flushed before the run counts as
done), so the ratio is measured, not remembered. Figures are medians. Not a test.
Targets (from the storage issue): <= 100 us/node on the 1,000-node fan-out, makespan
ratio <= 1.02, >= 1,000 runs/s of the small conditional graph, and zero "database is
locked" errors for 16 writers x 1,000 transactions.

The conditional graph is measured twice: runs one after another (each durable run waits
for its start to commit, one writer-thread round trip, before its first node runs) and
16 runs at a time sharing one runner and store, as a server runs them (their commits
share the writer's batches).
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent))

from engine import FANOUT, FANOUT_NODES, SLEEP, SLEEPERS, conditional_graph, fanout_graph, make_registry  # noqa: E402

import graphflow  # noqa: E402
from graphflow.runner import Runner  # noqa: E402
from graphflow.storage import open_store  # noqa: E402


def sleepers_graph() -> dict:
    graph = fanout_graph(SLEEPERS, "bench.sleep")
    graph["id"] = "sleepers"
    return graph


async def run_all(runner: Runner, inputs_for: list[dict], in_flight: int) -> None:
    """One after another (``in_flight`` 1), or ``in_flight`` runs at a time, as a server runs them."""
    if in_flight == 1:
        for inputs in inputs_for:
            await runner.run(inputs)
        return
    queue = iter(inputs_for)

    async def lane() -> None:
        for inputs in queue:
            await runner.run(inputs)

    async with anyio.create_task_group() as tg:
        for _ in range(in_flight):
            tg.start_soon(lane)


async def timed_runs(compiled: graphflow.CompiledGraph, inputs_for: list[dict], durable: bool, tmp: Path,
                     in_flight: int = 1) -> float:
    if not durable:
        runner = Runner(compiled)
        t0 = time.perf_counter()
        await run_all(runner, inputs_for, in_flight)
        return time.perf_counter() - t0
    async with open_store(tmp / f"bench-{time.monotonic_ns()}.db") as store:
        runner = Runner(compiled, sinks=[store])
        t0 = time.perf_counter()
        await run_all(runner, inputs_for, in_flight)
        await store.flush()
        return time.perf_counter() - t0


def writers(path: Path, writers: int = 16, transactions: int = 1000) -> tuple[float, int]:
    """16 threads, each with its own connection, 1,000 write transactions each."""
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE IF NOT EXISTS t(k INTEGER PRIMARY KEY, v TEXT)")
    locked = 0
    lock = threading.Lock()

    def work(n: int) -> None:
        nonlocal locked
        conn = sqlite3.connect(path, timeout=30, isolation_level=None)
        conn.execute("PRAGMA busy_timeout=30000")
        for i in range(transactions):
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("INSERT INTO t(k, v) VALUES (?, ?)", (n * transactions + i, "x"))
                conn.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                if "locked" in str(exc):
                    with lock:
                        locked += 1
                conn.execute("ROLLBACK")
        conn.close()

    t0 = time.perf_counter()
    threads = [threading.Thread(target=work, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0, locked


async def store_writers(path: Path, writers: int = 16, transactions: int = 1000) -> tuple[float, int]:
    """16 tasks sharing one SqliteStore (its single writer batches), each awaiting 1,000 puts."""
    locked = 0
    async with open_store(path) as store:
        async def work(n: int) -> None:
            nonlocal locked
            for i in range(transactions):
                try:
                    await store.put("bench", f"{n}-{i}", {"i": i})
                except sqlite3.OperationalError as exc:
                    locked += "locked" in str(exc)

        t0 = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for n in range(writers):
                tg.start_soon(work, n)
        return time.perf_counter() - t0, locked


def main() -> int:
    parser = argparse.ArgumentParser(description="durable engine benchmarks")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--runs", type=int, default=1000, help="conditional graph runs per sample")
    args = parser.parse_args()
    registry = make_registry()
    fan = graphflow.validate_graph(fanout_graph(FANOUT, "bench.noop"), registry)
    sleep = graphflow.validate_graph(sleepers_graph(), registry)
    cond = graphflow.validate_graph(conditional_graph(), registry)
    cond_inputs = [{"x": 1 if i % 2 == 0 else -1} for i in range(args.runs)]
    rows = []
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        for label, compiled, inputs, unit, in_flight in (
            ("fan-out 1000 async no-op + join", fan, [{"x": 1}], "us/node", 1),
            ("50 parallel x 100 ms sleep", sleep, [{"x": 1}], "makespan/crit", 1),
            (f"conditional graph, {args.runs} runs", cond, cond_inputs, "runs/s", 1),
            (f"conditional graph, {args.runs} runs, 16 at once", cond, cond_inputs, "runs/s", 16),
        ):
            mem, dur = [], []
            for _ in range(args.repeat):
                mem.append(anyio.run(timed_runs, compiled, inputs, False, tmp, in_flight))
                dur.append(anyio.run(timed_runs, compiled, inputs, True, tmp, in_flight))
            m, d = statistics.median(mem), statistics.median(dur)
            if unit == "us/node":
                rows.append((label, unit, m / FANOUT_NODES * 1e6, d / FANOUT_NODES * 1e6, "<= 100"))
            elif unit == "makespan/crit":
                rows.append((label, unit, m / SLEEP, d / SLEEP, "<= 1.02"))
            else:
                rows.append((label, unit, len(inputs) / m, len(inputs) / d, ">= 1000"))
        raw_t, raw_locked = writers(tmp / "writers.db")
        store_t, store_locked = anyio.run(store_writers, tmp / "store-writers.db")
    print(f"durable benchmarks: median of {args.repeat}; memory and durable measured alternately in one process")  # noqa: T201
    print(f"{'workload':48} {'unit':14} {'in memory':>12} {'durable':>12} {'durable/mem':>12}  target")  # noqa: T201
    for label, unit, m, d, target in rows:
        ratio = d / m if unit != "runs/s" else m / d
        print(f"{label:48} {unit:14} {m:12.3f} {d:12.3f} {ratio:12.2f}x  {target}")  # noqa: T201
    print(f"16 threads x 1000 BEGIN IMMEDIATE transactions, own connections: {raw_t:.2f}s, "  # noqa: T201
          f"{16000 / raw_t:,.0f} tx/s, 'database is locked' errors: {raw_locked}")
    print(f"16 tasks x 1000 awaited puts through one SqliteStore writer: {store_t:.2f}s, "  # noqa: T201
          f"{16000 / store_t:,.0f} puts/s, 'database is locked' errors: {store_locked}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
