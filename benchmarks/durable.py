"""The engine workloads recorded the way users record them, beside the same in memory.

    python benchmarks/durable.py [--repeat 5] [--runs 1000]

"Recorded" is exactly what ``graphflow run --db`` and the canvas do: the graph saved in
a ``SqliteStore`` (a fresh temp file per sample), each run through ``Workspace.run``,
which loads and compiles the stored version, records every event, and flushes the store
(and saves breakers) before it returns: one flush per run. "In memory" is ``Runner.run``
on the compiled graph with no sink. The two alternate, sample by sample, in one process,
so the ratio is measured, not remembered. Each round also times hand-written asyncio
doing the same work (the baselines of ``engine.py``) in the same process, so every figure
has its ratio to asyncio from the same rounds. Figures are medians; ratios are medians of
the per-round ratios. Not a test.

Targets (issue 9): <= 60 us/node recorded on the 200-node chain and the 1,000-node
fan-out, makespan ratio <= 1.03 in memory and recorded, >= 1,500 conditional runs/s
recorded one after another and >= 3,000/s with 16 runs at once (as a server runs them,
sharing one workspace and store), and zero "database is locked" errors for 16 writers
x 1,000 transactions.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
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
    SLEEPERS_EXPECTED,
    baseline_chain,
    baseline_fanout,
    baseline_sleepers,
    chain_graph,
    check,
    conditional_graph,
    fanout_graph,
    make_registry,
    negative,
    noop,
    positive,
    print_spans,
    spans,
    traced_sleepers,
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


async def timed(work: Callable[[], Awaitable[Any]]) -> float:
    t0 = time.perf_counter()
    await work()
    return time.perf_counter() - t0


async def baseline_runs(inputs_for: list[dict[str, Any]], in_flight: int) -> None:
    """The conditional graph's work as plain asyncio: the branch taken awaited as a task."""
    queue = iter(inputs_for)

    async def lane() -> None:
        for inputs in queue:
            x = inputs["x"]
            await asyncio.create_task(positive(x) if x > 0 else negative(x))

    async with asyncio.TaskGroup() as tg:
        for _ in range(in_flight):
            tg.create_task(lane())


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


@dataclass
class Workload:
    label: str
    compiled: graphflow.CompiledGraph
    inputs: list[dict[str, Any]]
    unit: str
    in_flight: int
    baseline: Callable[[], Awaitable[Any]]
    target: str
    passed: Callable[[float], bool]


def figure(workload: Workload, seconds: float) -> float:
    """Seconds of one sample in the workload's unit."""
    if workload.unit == "us/node":
        nodes = CHAIN_NODES if workload.compiled.spec.id.startswith("chain") else FANOUT_NODES
        return seconds / nodes * 1e6
    if workload.unit == "makespan/crit":
        return seconds / SLEEP
    return len(workload.inputs) / seconds


def workloads(runs: int) -> list[Workload]:
    registry = make_registry()
    chain = graphflow.validate_graph(chain_graph(CHAIN, "bench.noop"), registry)
    fan = graphflow.validate_graph(fanout_graph(FANOUT, "bench.noop"), registry)
    sleep = graphflow.validate_graph(sleepers_graph(), registry)
    cond = graphflow.validate_graph(conditional_graph(), registry)
    cond_inputs = [{"x": 1 if i % 2 == 0 else -1} for i in range(runs)]
    one = [{"x": 1}]
    return [
        Workload(f"chain of {CHAIN} async no-op", chain, one, "us/node", 1, lambda: baseline_chain(CHAIN, noop),
                 "<= 60", lambda v: v <= 60),
        Workload(f"fan-out {FANOUT} async no-op + join", fan, one, "us/node", 1,
                 lambda: baseline_fanout(FANOUT, noop, True), "<= 60", lambda v: v <= 60),
        Workload(f"{SLEEPERS} parallel x {SLEEP * 1000:g} ms sleep", sleep, one, "makespan/crit", 1,
                 lambda: baseline_sleepers(SLEEPERS), "<= 1.03", lambda v: v <= 1.03),
        Workload(f"conditional graph, {runs} runs", cond, cond_inputs, "runs/s", 1,
                 lambda: baseline_runs(cond_inputs, 1), ">= 1500", lambda v: v >= 1500),
        Workload(f"conditional graph, {runs} runs, 16 at once", cond, cond_inputs, "runs/s", 16,
                 lambda: baseline_runs(cond_inputs, 16), ">= 3000", lambda v: v >= 3000),
    ]


def run_makespan_parts(rounds: int, tmp: Path) -> None:
    """Workload 3's spans (``engine.py --makespan-parts``) in memory and recorded through the
    workspace, alternating, with the time the recorded run spends committing on the event
    loop's thread before its first sleep and after its last wake-up: its start's commit and its
    end's, awaited as the README promises (the nodes' starts are committed during the sleep)."""
    writers: list[Any] = []  # the store's writer, once open
    compiled, _, marks = traced_sleepers(lambda: writers[0].loop_seconds if writers else 0.0)

    async def main() -> tuple[list[list[float]], list[list[float]], list[float]]:
        mem, rec, awaited = [], [], []
        async with open_store(tmp / "parts.db") as store:
            workspace = Workspace(store, make_registry())
            stored = await workspace.save(compiled)
            runner = Runner(compiled)

            async def in_memory() -> None:
                check(await runner.run({"x": 1}), "sleepers", SLEEPERS_EXPECTED)

            for i in range(rounds + 1):  # the first pair warms up
                writers[:] = []
                m = await spans(in_memory, marks)
                writers[:] = [store.writer]
                before = store.writer.loop_seconds
                r = await spans(lambda: workspace.run(stored, {"x": 1}), marks)
                during = max(mark[3] for mark in marks) - min(mark[2] for mark in marks)
                if i:
                    mem.append(m)
                    rec.append(r)
                    awaited.append(store.writer.loop_seconds - before - during)
            runs = await store.list_runs(stored.graph_id, limit=rounds + 1)
            if len(runs) != rounds + 1 or any(run.status != "succeeded" for run in runs):
                sys.exit(f"wrong result: {[run.status for run in runs]}")
        return mem, rec, awaited

    mem, rec, awaited = anyio.run(main)
    print(f"{SLEEPERS} parallel x {SLEEP * 1000:g} ms sleep: where the makespan goes, ms, median of {rounds} "  # noqa: T201
          "rounds (in memory, then recorded through the workspace, alternating)")
    print_spans({"in memory": mem, "recorded": rec})
    print(f"{'of which the two commits':28} {'':>10} {statistics.median(awaited) * 1e3:10.3f}  "  # noqa: T201
          "(the run's start and end, awaited on the loop's thread)")


def main() -> int:
    parser = argparse.ArgumentParser(description="recorded engine benchmarks (see benchmarks/README.md)")
    parser.add_argument("--repeat", type=int, default=5, help="paired rounds per workload")
    parser.add_argument("--runs", type=int, default=1000, help="conditional graph runs per sample")
    parser.add_argument("--no-writers", action="store_true", help="skip the 16-writer SQLite test")
    parser.add_argument("--makespan-parts", type=int, nargs="?", const=15, default=None, metavar="ROUNDS",
                        help="instead of the table: where workload 3's makespan goes, in memory and recorded")
    args = parser.parse_args()
    if args.makespan_parts is not None:
        if args.makespan_parts < 1:
            parser.error("--makespan-parts needs at least 1 round")
        with tempfile.TemporaryDirectory() as tmp_dir:
            run_makespan_parts(args.makespan_parts, Path(tmp_dir))
        return 0
    rows = []
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        for w in workloads(args.runs):
            print(f"  ... {w.label}", file=sys.stderr, flush=True)  # noqa: T201
            anyio.run(recorded, w.compiled, w.inputs[:16], w.in_flight, tmp)  # warm-up, untimed
            mem, rec, base = [], [], []
            for _ in range(args.repeat):  # one round: asyncio, in memory, recorded
                base.append(anyio.run(timed, w.baseline))
                mem.append(anyio.run(in_memory, w.compiled, w.inputs, w.in_flight))
                rec.append(anyio.run(recorded, w.compiled, w.inputs, w.in_flight, tmp))
            ratio = [statistics.median(a / b for a, b in zip(x, y, strict=True))
                     for x, y in ((mem, base), (rec, base), (rec, mem))]
            b, m, d = (figure(w, statistics.median(x)) for x in (base, mem, rec))
            ok = w.passed(d) and (w.unit != "makespan/crit" or w.passed(m))
            rows.append((w.label, w.unit, b, m, d, *ratio, w.target, "PASS" if ok else "MISS"))
        if not args.no_writers:
            raw_t, raw_locked = writers(tmp / "writers.db")
            store_t, store_locked = anyio.run(store_writers, tmp / "store-writers.db")
    print(f"recorded benchmarks: median of {args.repeat} rounds (asyncio, in memory, recorded through the "  # noqa: T201
          "workspace with a flush per run), one process; ratios are time ratios, median of the rounds'")
    print(f"{'workload':44} {'unit':13} {'asyncio':>10} {'in memory':>10} {'recorded':>10} "  # noqa: T201
          f"{'mem/asyncio':>11} {'rec/asyncio':>11} {'rec/mem':>8}  target (recorded)")
    for label, unit, b, m, d, mb, db, dm, target, verdict in rows:
        print(f"{label:44} {unit:13} {b:10.3f} {m:10.3f} {d:10.3f} {mb:10.2f}x {db:10.2f}x {dm:7.2f}x  "  # noqa: T201
              f"{target} {verdict}")
    if not args.no_writers:
        print(f"16 threads x 1000 BEGIN IMMEDIATE transactions, own connections: {raw_t:.2f}s, "  # noqa: T201
              f"{16000 / raw_t:,.0f} tx/s, 'database is locked' errors: {raw_locked}")
        print(f"16 tasks x 1000 awaited puts through one SqliteStore writer: {store_t:.2f}s, "  # noqa: T201
              f"{16000 / store_t:,.0f} puts/s, 'database is locked' errors: {store_locked}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
