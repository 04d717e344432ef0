"""The engine workloads recorded the way users record them, beside the same in memory.

    python benchmarks/durable.py [--repeat 5] [--runs 1000]

"Recorded" is exactly what ``graphflow run --db`` and the canvas do: the graph saved in
a ``SqliteStore`` (a fresh temp file per sample), each run through ``Workspace.run``,
which loads and compiles the stored version, records every event, and flushes the store
(and saves breakers) before it returns: one flush per run. "In memory" is ``Runner.run``
on the compiled graph with no sink. The two alternate, sample by sample, in one process,
so the ratio is measured, not remembered. Figures are medians. Not a test.

Targets (issue 9): <= 60 us/node recorded on the 200-node chain and the 1,000-node
fan-out, makespan ratio <= 1.03 in memory and recorded, >= 1,500 conditional runs/s
recorded one after another and >= 3,000/s with 16 runs at once (as a server runs them,
sharing one workspace and store), and zero "database is locked" errors for 16 writers
x 1,000 transactions.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent))

from engine import (  # noqa: E402
    CHAIN,
    CHAIN_NODES,
    FANOUT,
    FANOUT_NODES,
    SLEEP,
    SLEEPERS,
    chain_graph,
    conditional_graph,
    fanout_graph,
    make_registry,
)

import graphflow  # noqa: E402
from graphflow.runner import Runner  # noqa: E402
from graphflow.service import Workspace  # noqa: E402
from graphflow.storage import open_store  # noqa: E402


def sleepers_graph() -> dict[str, Any]:
    graph = fanout_graph(SLEEPERS, "bench.sleep")
    graph["id"] = "sleepers"
    return graph


async def run_all(run_one: Callable[[dict[str, Any]], Awaitable[Any]], inputs_for: list[dict[str, Any]],
                  in_flight: int) -> None:
    """One after another (``in_flight`` 1), or ``in_flight`` runs at a time, as a server runs them."""
    queue = iter(inputs_for)

    async def lane() -> None:
        for inputs in queue:
            result = await run_one(inputs)
            if not result.ok:
                sys.exit(f"wrong result: {result.status} {result.error}")

    async with anyio.create_task_group() as tg:
        for _ in range(in_flight):
            tg.start_soon(lane)


async def in_memory(compiled: graphflow.CompiledGraph, inputs_for: list[dict[str, Any]], in_flight: int) -> float:
    runner = Runner(compiled)
    t0 = time.perf_counter()
    await run_all(runner.run, inputs_for, in_flight)
    return time.perf_counter() - t0


async def recorded(compiled: graphflow.CompiledGraph, inputs_for: list[dict[str, Any]], in_flight: int,
                   tmp: Path) -> float:
    """Through the workspace, as ``graphflow run --db`` and the canvas run graphs."""
    async with open_store(tmp / f"bench-{time.monotonic_ns()}.db") as store:
        workspace = Workspace(store, make_registry())
        stored = await workspace.save(compiled)

        def run_one(inputs: dict[str, Any]) -> Awaitable[Any]:
            return workspace.run(stored, inputs)

        t0 = time.perf_counter()
        await run_all(run_one, inputs_for, in_flight)
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
    parser = argparse.ArgumentParser(description="recorded engine benchmarks (see benchmarks/README.md)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--runs", type=int, default=1000, help="conditional graph runs per sample")
    parser.add_argument("--no-writers", action="store_true", help="skip the 16-writer SQLite test")
    args = parser.parse_args()
    registry = make_registry()
    chain = graphflow.validate_graph(chain_graph(CHAIN, "bench.noop"), registry)
    fan = graphflow.validate_graph(fanout_graph(FANOUT, "bench.noop"), registry)
    sleep = graphflow.validate_graph(sleepers_graph(), registry)
    cond = graphflow.validate_graph(conditional_graph(), registry)
    cond_inputs = [{"x": 1 if i % 2 == 0 else -1} for i in range(args.runs)]
    workloads: list[tuple[str, graphflow.CompiledGraph, list[dict[str, Any]], str, int, str]] = [
        (f"chain of {CHAIN} async no-op", chain, [{"x": 1}], "us/node", 1, "<= 60"),
        (f"fan-out {FANOUT} async no-op + join", fan, [{"x": 1}], "us/node", 1, "<= 60"),
        (f"{SLEEPERS} parallel x {SLEEP * 1000:g} ms sleep", sleep, [{"x": 1}], "makespan/crit", 1, "<= 1.03"),
        (f"conditional graph, {args.runs} runs", cond, cond_inputs, "runs/s", 1, ">= 1500"),
        (f"conditional graph, {args.runs} runs, 16 at once", cond, cond_inputs, "runs/s", 16, ">= 3000"),
    ]
    rows = []
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        for label, compiled, inputs, unit, in_flight, target in workloads:
            print(f"  ... {label}", file=sys.stderr, flush=True)  # noqa: T201
            mem, rec = [], []
            anyio.run(recorded, compiled, inputs[:16], in_flight, tmp)  # warm-up, untimed
            for _ in range(args.repeat):
                mem.append(anyio.run(in_memory, compiled, inputs, in_flight))
                rec.append(anyio.run(recorded, compiled, inputs, in_flight, tmp))
            m, d = statistics.median(mem), statistics.median(rec)
            if unit == "us/node":
                nodes = CHAIN_NODES if compiled is chain else FANOUT_NODES
                m, d = m / nodes * 1e6, d / nodes * 1e6
            elif unit == "makespan/crit":
                m, d = m / SLEEP, d / SLEEP
            else:
                m, d = len(inputs) / m, len(inputs) / d
            rows.append((label, unit, m, d, target))
        if not args.no_writers:
            raw_t, raw_locked = writers(tmp / "writers.db")
            store_t, store_locked = anyio.run(store_writers, tmp / "store-writers.db")
    print(f"recorded benchmarks: median of {args.repeat}; in memory and recorded (workspace, flush per run) "  # noqa: T201
          "measured alternately in one process")
    print(f"{'workload':48} {'unit':14} {'in memory':>12} {'recorded':>12} {'rec/mem':>9}  target (recorded)")  # noqa: T201
    for label, unit, m, d, target in rows:
        ratio = d / m if unit != "runs/s" else m / d
        print(f"{label:48} {unit:14} {m:12.3f} {d:12.3f} {ratio:8.2f}x  {target}")  # noqa: T201
    if not args.no_writers:
        print(f"16 threads x 1000 BEGIN IMMEDIATE transactions, own connections: {raw_t:.2f}s, "  # noqa: T201
              f"{16000 / raw_t:,.0f} tx/s, 'database is locked' errors: {raw_locked}")
        print(f"16 tasks x 1000 awaited puts through one SqliteStore writer: {store_t:.2f}s, "  # noqa: T201
              f"{16000 / store_t:,.0f} puts/s, 'database is locked' errors: {store_locked}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
