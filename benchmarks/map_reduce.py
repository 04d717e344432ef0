"""Map over 10,000 items with 16 in flight, each sleeping 1 ms: wall time / ideal.

    python benchmarks/map_reduce.py [--repeat 5]

Ideal = 10,000 x 1 ms / 16. The baseline is a hand-written asyncio pool of 16 workers
doing the same sleeps, measured in the same run. Target (resilience issue): <= 1.3.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time

import anyio

import graphflow
from graphflow.runner import Runner

ITEMS, IN_FLIGHT, SLEEP = 10_000, 16, 0.001


async def item(x: int) -> int:
    await asyncio.sleep(SLEEP)
    return x


def compiled() -> graphflow.CompiledGraph:
    registry = graphflow.default_registry(installed=False)
    registry.register_function("bench.item", item)
    registry.register_function("bench.count", lambda results: len(results), non_blocking=True)
    graph = {"schema_version": 1, "id": "map", "nodes": [
        {"id": "in", "kind": "input", "config": {"name": "items", "type": "array"}},
        {"id": "m", "kind": "map", "config": {"function": "bench.item", "reduce": "bench.count",
                                              "concurrency": IN_FLIGHT}},
        {"id": "out", "kind": "output", "config": {"name": "n"}}],
        "edges": [{"id": "a", "source": "in", "target": "m"}, {"id": "b", "source": "m", "target": "out"}]}
    return graphflow.validate_graph(graph, registry)


async def engine(graph: graphflow.CompiledGraph) -> float:
    t0 = time.perf_counter()
    result = await Runner(graph).run({"items": list(range(ITEMS))})
    assert result.outputs == {"n": ITEMS}, result.error
    return time.perf_counter() - t0


async def baseline() -> float:
    t0 = time.perf_counter()
    queue = iter(range(ITEMS))
    results = []

    async def worker() -> None:
        for x in queue:
            results.append(await item(x))

    await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
    assert len(results) == ITEMS
    return time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    graph = compiled()
    ours, base = [], []
    for _ in range(args.repeat):
        ours.append(anyio.run(engine, graph))
        base.append(asyncio.run(baseline()))
    ideal = ITEMS * SLEEP / IN_FLIGHT
    o, b = statistics.median(ours), statistics.median(base)
    print(f"map {ITEMS:,} items, {IN_FLIGHT} in flight, {SLEEP * 1000:g} ms each; ideal {ideal:.3f}s; "  # noqa: T201
          f"median of {args.repeat}")
    print(f"graphflow map node: {o:.3f}s  wall/ideal {o / ideal:.3f}  (target <= 1.3)")  # noqa: T201
    print(f"asyncio pool:       {b:.3f}s  wall/ideal {b / ideal:.3f}")  # noqa: T201
    print(f"ours/baseline: {o / b:.3f}x")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
