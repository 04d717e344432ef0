"""Engine micro-benchmarks: scheduler overhead, parallelism and per-run cost.

Run ``python benchmarks/engine.py`` (see benchmarks/README.md). Every workload is timed
against a hand-written asyncio baseline in the same process and event loop, so the
ratios hold on any machine; the absolute figures do not. Not a test: nothing here
asserts on time. Targets are reported as PASS/MISS and the exit status is 0 unless a
run gives a wrong result.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import pstats
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import anyio

import graphflow
from graphflow.runner import Runner  # not re-exported as graphflow.Runner

CHAIN = 200
CHAIN_NODES = 201  # divisor for us/node: 200 functions + source (the output node is not counted)
FANOUT = 1_000
FANOUT_NODES = 1_002  # divisor for us/node: 1,000 functions + source + join (the output node is not counted)
SLEEPERS = 50
SLEEP = 0.1
COND_RUNS = 1_000

TARGET_ASYNC_RATIO = 4.0
"""Engine time / hand-written asyncio time, for chain and fan-out of async nodes (issue 9)."""
TARGET_SYNC_RATIO = 2.0
"""The same for sync non-blocking nodes."""
TARGET_MAKESPAN = 1.03
TARGET_RUNS_PER_S = 10_000.0
SLEEPERS_EXPECTED = {"result": {f"f{i:04d}": 1 for i in range(SLEEPERS)}}
"""Workload 3's outputs: every sleeper's input back, by node."""


# -- registered functions -------------------------------------------------------


async def noop(v: Any) -> Any:
    return v


def noop_sync(v: Any) -> Any:
    return v


async def sleeper(v: Any) -> Any:
    await anyio.sleep(SLEEP)
    return v


async def positive(v: Any) -> Any:
    return v


async def negative(v: Any) -> Any:
    return -v


def make_registry() -> graphflow.Registry:
    registry = graphflow.default_registry(installed=False)
    registry.register_function("bench.noop", noop)
    registry.register_function("bench.noop_sync", noop_sync, non_blocking=True)
    registry.register_function("bench.sleep", sleeper)
    registry.register_function("bench.positive", positive)
    registry.register_function("bench.negative", negative)
    return registry


# -- graphs ---------------------------------------------------------------------


def fanout_graph(n: int, function: str) -> dict[str, Any]:
    """input -> n function nodes -> join (all) -> output."""
    names = [f"f{i:04d}" for i in range(n)]
    nodes: list[dict[str, Any]] = [{"id": "src", "kind": "input", "config": {"name": "x", "type": "integer"}}]
    nodes += [{"id": name, "kind": "function", "config": {"function": function}} for name in names]
    nodes += [{"id": "join", "kind": "join", "config": {"strategy": "all"}},
              {"id": "out", "kind": "output", "config": {"name": "result"}}]
    edges: list[dict[str, Any]] = []
    for name in names:
        edges.append({"id": f"a_{name}", "source": "src", "target": name})
        edges.append({"id": f"b_{name}", "source": name, "target": "join"})
    edges.append({"id": "j_out", "source": "join", "target": "out"})
    return {"schema_version": 1, "id": f"fanout_{n}", "name": f"fan-out {n}", "nodes": nodes, "edges": edges}


def chain_graph(n: int, function: str) -> dict[str, Any]:
    """input -> n function nodes one after another -> output."""
    names = [f"c{i:04d}" for i in range(n)]
    nodes: list[dict[str, Any]] = [{"id": "src", "kind": "input", "config": {"name": "x", "type": "integer"}}]
    nodes += [{"id": name, "kind": "function", "config": {"function": function}} for name in names]
    nodes.append({"id": "out", "kind": "output", "config": {"name": "result"}})
    ids = ["src", *names, "out"]
    pairs = enumerate(zip(ids, ids[1:], strict=False))
    edges = [{"id": f"e{i:04d}", "source": a, "target": b} for i, (a, b) in pairs]
    return {"schema_version": 1, "id": f"chain_{n}", "name": f"chain {n}", "nodes": nodes, "edges": edges}


def conditional_graph() -> dict[str, Any]:
    """input -> condition (value > 0) -> positive | negative -> one output each."""
    return {
        "schema_version": 1, "id": "conditional", "name": "conditional",
        "nodes": [
            {"id": "in", "kind": "input", "config": {"name": "x", "type": "integer"}},
            {"id": "cond", "kind": "condition", "config": {"expression": "value > 0"}},
            {"id": "pos", "kind": "function", "config": {"function": "bench.positive"}},
            {"id": "neg", "kind": "function", "config": {"function": "bench.negative"}},
            {"id": "out_pos", "kind": "output", "config": {"name": "pos"}},
            {"id": "out_neg", "kind": "output", "config": {"name": "neg"}},
        ],
        "edges": [
            {"id": "e_in", "source": "in", "target": "cond"},
            {"id": "e_true", "source": "cond", "source_port": "true", "target": "pos"},
            {"id": "e_false", "source": "cond", "source_port": "false", "target": "neg"},
            {"id": "e_pos", "source": "pos", "target": "out_pos"},
            {"id": "e_neg", "source": "neg", "target": "out_neg"},
        ],
    }


# -- baselines: the same work as hand-written asyncio ----------------------------


async def baseline_fanout(n: int, fn: Callable[[Any], Any], is_async: bool) -> dict[str, Any]:
    async def call(v: Any) -> Any:
        return fn(v)

    names = [f"f{i:04d}" for i in range(n)]
    async with asyncio.TaskGroup() as tg:
        tasks = {name: tg.create_task(fn(1) if is_async else call(1)) for name in names}
    return {"result": {name: task.result() for name, task in tasks.items()}}


async def baseline_chain(n: int, fn: Callable[[Any], Any]) -> dict[str, Any]:
    """Each step a task of its own, awaited before the next starts (as the engine runs a node)."""
    value: Any = 1
    for _ in range(n):
        value = await asyncio.create_task(fn(value))
    return {"result": value}


async def sync_as_async(v: Any) -> Any:
    return noop_sync(v)


async def baseline_sleepers(n: int, fn: Callable[[Any], Awaitable[Any]] = sleeper) -> dict[str, Any]:
    names = [f"s{i:02d}" for i in range(n)]
    async with asyncio.TaskGroup() as tg:
        tasks = {name: tg.create_task(fn(1)) for name in names}
    return {"result": {name: task.result() for name, task in tasks.items()}}


async def baseline_conditional(runs: int) -> None:
    async def flow(x: int) -> dict[str, Any]:
        if x > 0:
            return {"pos": await positive(x)}
        return {"neg": await negative(x)}

    for i in range(runs):
        await flow(1 if i % 2 == 0 else -1)


# -- engine side -------------------------------------------------------------------


async def engine_once(compiled: graphflow.CompiledGraph, inputs: dict[str, Any]) -> graphflow.RunResult:
    return await Runner(compiled).run(inputs)


async def engine_conditional(compiled: graphflow.CompiledGraph, runs: int) -> None:
    runner = Runner(compiled)
    for i in range(runs):
        await runner.run({"x": 1 if i % 2 == 0 else -1})


def check(result: graphflow.RunResult, what: str, expected: dict[str, Any]) -> None:
    if result.status != "succeeded" or result.outputs != expected:
        sys.exit(f"{what}: wrong result: status={result.status} error={result.error} "
                 f"outputs={str(result.outputs)[:200]}")


# -- timing ----------------------------------------------------------------------------


@dataclass
class Sample:
    ours: list[float]
    base: list[float]
    ours_cpu: list[float]
    """Process CPU seconds of each engine sample: on a busy machine wall time also counts time spent waiting for a
    CPU (compare ``real`` and ``user`` of ``time``); CPU time does not. Meaningless for the sleeping workload."""


async def paired(ours: Callable[[], Awaitable[Any]], base: Callable[[], Awaitable[Any]],
                 repeat: int, warmup: int) -> Sample:
    """Alternate engine and baseline runs in one loop; wall seconds of each, after ``warmup`` untimed pairs."""
    for _ in range(warmup):
        await ours()
        await base()
    sample = Sample([], [], [])
    for _ in range(repeat):
        for fn, into, cpu in ((ours, sample.ours, sample.ours_cpu), (base, sample.base, None)):
            gc.collect()
            c0 = time.process_time()
            t0 = time.perf_counter()
            await fn()
            into.append(time.perf_counter() - t0)
            if cpu is not None:
                cpu.append(time.process_time() - c0)
    return sample


@dataclass
class Row:
    workload: str
    unit: str
    ours: float
    base: float
    spread: tuple[float, float]
    """min and max of ours, in the row's unit."""
    target: str
    passed: bool
    time_ratio: float
    """Engine time / baseline time for the same work (1.0 = as fast as hand-written asyncio)."""
    cpu: float | None = None
    """The engine's figure computed from CPU time instead of wall time (median)."""


def per_node_row(label: str, sample: Sample, nodes: int, target_ratio: float) -> Row:
    """us/node; the target is the ratio to the baseline (engine time / hand-written asyncio time)."""
    per_node = [t / nodes * 1e6 for t in sample.ours]
    base = statistics.median(sample.base) / nodes * 1e6
    ours = statistics.median(per_node)
    cpu = statistics.median(sample.ours_cpu) / nodes * 1e6
    ratio = statistics.median(o / b for o, b in zip(sample.ours, sample.base, strict=True))
    return Row(label, "us/node", ours, base, (min(per_node), max(per_node)), f"ratio <= {target_ratio:g}x",
               ratio <= target_ratio, ratio, cpu)


def sleepers_row(sample: Sample) -> Row:
    ratios = [t / SLEEP for t in sample.ours]
    ours = statistics.median(ratios)
    base = statistics.median(sample.base) / SLEEP
    return Row(f"3. {SLEEPERS} parallel x {SLEEP * 1000:g} ms sleep", "makespan/crit", ours, base,
               (min(ratios), max(ratios)), f"<= {TARGET_MAKESPAN:g}", ours <= TARGET_MAKESPAN, ours / base)


def conditional_row(sample: Sample, runs: int) -> Row:
    rates = [runs / t for t in sample.ours]
    ours = statistics.median(rates)
    base = runs / statistics.median(sample.base)
    cpu = runs / statistics.median(sample.ours_cpu)
    return Row(f"4. conditional graph, {runs} runs", "runs/s", ours, base, (min(rates), max(rates)),
               f">= {TARGET_RUNS_PER_S:g}", ours >= TARGET_RUNS_PER_S, base / ours, cpu)


def engine_revision() -> str:
    """The git commit the engine was measured at, '+dirty' when graphflow/ has uncommitted edits."""
    root = str(Path(__file__).resolve().parent.parent)
    try:
        head = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", root, "status", "--porcelain", "--", "graphflow"], capture_output=True,
                               text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (head or "unknown") + ("+dirty" if dirty else "")


def progress(what: str) -> None:
    print(f"  ... {what}", file=sys.stderr, flush=True)  # noqa: T201


def fmt(value: float) -> str:
    if value >= 10_000:
        return f"{value:,.0f}"
    if value >= 100:
        return f"{value:.1f}"
    return f"{value:.3f}"


def print_table(rows: list[Row], repeat: int) -> None:
    header = ("workload", "unit", f"ours (median/{repeat})", "ours min..max", "ours by cpu", "baseline",
              "ours/base (time)", "target", "result")
    body = [(r.workload, r.unit, fmt(r.ours), f"{fmt(r.spread[0])}..{fmt(r.spread[1])}",
             "-" if r.cpu is None else fmt(r.cpu), fmt(r.base), f"{r.time_ratio:.2f}x", r.target,
             "PASS" if r.passed else "MISS") for r in rows]
    widths = [max(len(str(line[i])) for line in (header, *body)) for i in range(len(header))]
    for i, line in enumerate((header, *body)):
        print("  ".join(str(cell).ljust(w) for cell, w in zip(line, widths, strict=True)))  # noqa: T201
        if i == 0:
            print("  ".join("-" * w for w in widths))  # noqa: T201


# -- workloads ---------------------------------------------------------------------------


def compile_all() -> dict[str, graphflow.CompiledGraph]:
    registry = make_registry()
    return {
        "chain": graphflow.validate_graph(chain_graph(CHAIN, "bench.noop"), registry),
        "chain_sync": graphflow.validate_graph(chain_graph(CHAIN, "bench.noop_sync"), registry),
        "fanout": graphflow.validate_graph(fanout_graph(FANOUT, "bench.noop"), registry),
        "fanout_sync": graphflow.validate_graph(fanout_graph(FANOUT, "bench.noop_sync"), registry),
        "sleepers": graphflow.validate_graph(
            {**fanout_graph(SLEEPERS, "bench.sleep"), "id": "sleepers"}, registry),
        "conditional": graphflow.validate_graph(conditional_graph(), registry),
    }


def run_benchmarks(repeat: int, cond_runs: int, warmup: int) -> list[Row]:
    graphs = compile_all()
    fan_expected = {"result": {f"f{i:04d}": 1 for i in range(FANOUT)}}

    async def main() -> list[Row]:
        progress("correctness runs")
        # Correctness first (a fast wrong answer is not a result); these runs also warm up imports and caches.
        check(await engine_once(graphs["chain"], {"x": 1}), "chain", {"result": 1})
        check(await engine_once(graphs["chain_sync"], {"x": 1}), "chain (sync)", {"result": 1})
        check(await engine_once(graphs["fanout"], {"x": 1}), "fan-out", fan_expected)
        check(await engine_once(graphs["fanout_sync"], {"x": 1}), "fan-out (sync)", fan_expected)
        check(await engine_once(graphs["sleepers"], {"x": 1}), "sleepers", SLEEPERS_EXPECTED)
        check(await engine_once(graphs["conditional"], {"x": 5}), "conditional +", {"pos": 5})
        check(await engine_once(graphs["conditional"], {"x": -5}), "conditional -", {"neg": 5})

        rows = []
        progress("1a chain, async no-op")
        s = await paired(lambda: engine_once(graphs["chain"], {"x": 1}),
                         lambda: baseline_chain(CHAIN, noop), repeat, warmup)
        rows.append(per_node_row(f"1a. chain of {CHAIN} async no-op", s, CHAIN_NODES, TARGET_ASYNC_RATIO))
        progress("1b chain, sync no-op")
        s = await paired(lambda: engine_once(graphs["chain_sync"], {"x": 1}),
                         lambda: baseline_chain(CHAIN, sync_as_async), repeat, warmup)
        rows.append(per_node_row(f"1b. chain of {CHAIN} sync no-op", s, CHAIN_NODES, TARGET_SYNC_RATIO))
        progress("2a fan-out, async no-op")
        s = await paired(lambda: engine_once(graphs["fanout"], {"x": 1}),
                         lambda: baseline_fanout(FANOUT, noop, True), repeat, warmup)
        rows.append(per_node_row(f"2a. fan-out {FANOUT} async no-op + join", s, FANOUT_NODES, TARGET_ASYNC_RATIO))
        progress("2b fan-out, sync no-op")
        s = await paired(lambda: engine_once(graphs["fanout_sync"], {"x": 1}),
                         lambda: baseline_fanout(FANOUT, noop_sync, False), repeat, warmup)
        rows.append(per_node_row(f"2b. fan-out {FANOUT} sync no-op + join", s, FANOUT_NODES, TARGET_SYNC_RATIO))
        progress("3 parallel sleepers")
        s = await paired(lambda: engine_once(graphs["sleepers"], {"x": 1}),
                         lambda: baseline_sleepers(SLEEPERS), repeat, warmup)
        rows.append(sleepers_row(s))
        progress("4 conditional runs")
        s = await paired(lambda: engine_conditional(graphs["conditional"], cond_runs),
                         lambda: baseline_conditional(cond_runs), repeat, warmup)
        rows.append(conditional_row(s, cond_runs))
        return rows

    return anyio.run(main)


PROFILES = {"1": "chain", "1b": "chain_sync", "2": "fanout", "2b": "fanout_sync", "3": "sleepers", "4": "conditional"}


def run_profile(which: str, iterations: int | None) -> None:
    """Profile only the engine calls (after a warm-up run), on the asyncio loop's thread."""
    graphs = compile_all()
    name = PROFILES[which]
    compiled = graphs[name]
    profiler = cProfile.Profile()

    async def once() -> None:
        if name == "conditional":
            await engine_conditional(compiled, COND_RUNS)
        else:
            await engine_once(compiled, {"x": 1})

    async def main() -> tuple[int, float]:
        await once()  # warm-up, not profiled
        gc.collect()
        t0 = time.perf_counter()
        done = 0
        profiler.enable()
        while done < (iterations or 50):
            await once()
            done += 1
            if iterations is None and time.perf_counter() - t0 >= 2.0:
                break
        profiler.disable()
        return done, time.perf_counter() - t0

    done, wall = anyio.run(main)
    what = f"{COND_RUNS} conditional runs" if name == "conditional" else f"one run of '{compiled.spec.id}'"
    print(f"profile of workload {which} ({name}): {done} x {what}, {wall:.3f} s wall under cProfile\n"  # noqa: T201
          "(profiling inflates times 2-4x, read the proportions; ncalls of a coroutine also counts each "
          "resumption after an await)")
    stats = pstats.Stats(profiler, stream=sys.stdout).strip_dirs()
    for key in ("cumulative", "tottime"):
        print(f"\n=== top 25 by {key} ===")  # noqa: T201
        stats.sort_stats(key).print_stats(25)


SPANS = ("to the first sleep", "first to last sleep start", "timer slack", "last wake to return")


Marks = list[tuple[float, float, float, float]]
"""Per sleeper: when it started and woke, and ``probe()`` at those two moments."""


def traced_sleepers(probe: Callable[[], float] = lambda: 0.0) -> tuple[
        graphflow.CompiledGraph, Callable[[Any], Awaitable[Any]], Marks]:
    """Workload 3 with a sleeper that notes when it starts and wakes (and what ``probe`` reads
    then): the compiled graph, the sleeper (also the asyncio baseline's) and its marks."""
    marks: Marks = []

    async def traced(v: Any) -> Any:
        began, probed = time.perf_counter(), probe()
        await anyio.sleep(SLEEP)
        marks.append((began, time.perf_counter(), probed, probe()))
        return v

    registry = make_registry()
    registry.register_function("bench.sleep", traced, replace=True)
    compiled = graphflow.validate_graph({**fanout_graph(SLEEPERS, "bench.sleep"), "id": "sleepers"}, registry)
    return compiled, traced, marks


async def spans(work: Callable[[], Awaitable[Any]], marks: Marks) -> list[float]:
    """``work()``'s makespan beyond the sleep, in the four ``SPANS`` (seconds)."""
    marks.clear()
    gc.collect()
    t0 = time.perf_counter()
    await work()
    t1 = time.perf_counter()
    starts, ends = [m[0] for m in marks], [m[1] for m in marks]
    return [min(starts) - t0, max(starts) - min(starts), max(ends) - max(starts) - SLEEP, t1 - max(ends)]


def print_spans(columns: dict[str, list[list[float]]]) -> None:
    """One row per span and a total, one column per way of running: medians in ms."""
    print(f"{'span':28} " + " ".join(f"{name:>10}" for name in columns))  # noqa: T201
    for i, span in enumerate(SPANS):
        print(f"{span:28} " + " ".join(f"{statistics.median(r[i] for r in rounds) * 1e3:10.3f}"  # noqa: T201
                                       for rounds in columns.values()))
    print(f"{'all beyond the sleep':28} " + " ".join(  # noqa: T201
        f"{statistics.median(sum(r) for r in rounds) * 1e3:10.3f}" for rounds in columns.values()))


def run_makespan_parts(rounds: int) -> None:
    """Where the sleepers' makespan goes beyond the 100 ms sleep, engine and asyncio alternating:
    the run's start before the first sleep, the stagger of the starts (per-node start cost),
    the loop's timer slack (epoll waits whole milliseconds, so the sleepers tend to wake in
    one loop pass) and the tail after the last wake-up (per-node completion cost, the join,
    the run's end)."""
    compiled, traced, marks = traced_sleepers()

    async def checked_run() -> None:
        check(await engine_once(compiled, {"x": 1}), "sleepers", SLEEPERS_EXPECTED)

    async def main() -> tuple[list[list[float]], list[list[float]]]:
        ours, base = [], []
        for i in range(rounds + 1):  # the first pair warms up
            o = await spans(checked_run, marks)
            b = await spans(lambda: baseline_sleepers(SLEEPERS, traced), marks)
            if i:
                ours.append(o)
                base.append(b)
        return ours, base

    ours, base = anyio.run(main)
    print(f"{SLEEPERS} parallel x {SLEEP * 1000:g} ms sleep: where the makespan goes, ms, "  # noqa: T201
          f"median of {rounds} rounds (engine in memory, then hand-written asyncio, alternating)")
    print_spans({"engine": ours, "asyncio": base})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="graphflow engine benchmarks (see benchmarks/README.md)")
    parser.add_argument("--repeat", type=int, default=None, help="timed runs per workload (default 5; 3 with --quick)")
    parser.add_argument("--quick", action="store_true",
                        help=f"3 repeats, no warm-up pair (only the correctness runs), "
                             f"{COND_RUNS // 5} conditional runs per sample")
    parser.add_argument("--profile", nargs="?", const="1", choices=sorted(PROFILES), default=None,
                        metavar="WORKLOAD",
                        help="profile a workload under cProfile instead of timing (1 = async chain, the default; "
                             "1b = sync chain, 2 = async fan-out, 2b = sync fan-out, 3 = sleepers, "
                             "4 = conditional) and print the top 25 functions")
    parser.add_argument("--profile-iterations", type=int, default=None,
                        help="engine runs inside the profile (default: repeat until 2 s have passed, at most 50)")
    parser.add_argument("--makespan-parts", type=int, nargs="?", const=15, default=None, metavar="ROUNDS",
                        help="instead of the table: where workload 3's makespan goes (start, stagger, timer "
                             "slack, tail), engine beside asyncio, median of ROUNDS rounds (default 15)")
    args = parser.parse_args(argv)

    if args.makespan_parts is not None:
        if args.makespan_parts < 1:
            parser.error("--makespan-parts needs at least 1 round")
        run_makespan_parts(args.makespan_parts)
        return 0
    if args.profile is not None:
        run_profile(args.profile, args.profile_iterations)
        return 0

    repeat = args.repeat or (3 if args.quick else 5)
    if repeat < 1:
        parser.error("--repeat must be at least 1")
    cond_runs = COND_RUNS // 5 if args.quick else COND_RUNS
    warmup = 0 if args.quick else 1
    print(f"graphflow engine benchmarks: python {sys.version.split()[0]}, anyio {version('anyio')} (asyncio backend), "  # noqa: T201
          f"engine at {engine_revision()}\n"
          f"median of {repeat} runs; baseline = hand-written asyncio, same process and loop\n")
    rows = run_benchmarks(repeat, cond_runs, warmup)
    print_table(rows, repeat)
    misses = [r.workload for r in rows if not r.passed]
    print(f"\n{len(rows) - len(misses)}/{len(rows)} targets met" + (f"; MISS: {', '.join(misses)}" if misses else ""))  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
