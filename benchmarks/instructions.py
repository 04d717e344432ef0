"""Instructions per node and per run, counted by callgrind (load-independent).

    python benchmarks/instructions.py [WORKLOAD ...]

Each workload runs twice under ``valgrind --tool=callgrind``, once with ``--small`` and
once with ``--large`` iterations (after one untimed warm-up run each); the difference of
the two totals, divided by the extra nodes (or runs), is the engine's cost per node (or
run) without interpreter start-up and imports. Writer-thread instructions of recorded
runs are counted too (callgrind runs every thread). Compare counts before and after a
change to the hot path; seconds on this machine move by tens of percent, these by ~1%.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent))

from engine import CHAIN, CHAIN_NODES, FANOUT, FANOUT_NODES, chain_graph, conditional_graph, fanout_graph, make_registry  # noqa: E402, I001

WORKLOADS: dict[str, tuple[str, int, int, int]] = {
    # name: (unit, units per iteration, small, large)
    "chain": ("node", CHAIN_NODES, 1, 6),
    "fanout": ("node", FANOUT_NODES, 1, 3),
    "fanout_sync": ("node", FANOUT_NODES, 1, 3),
    "conditional": ("run", 1, 50, 250),
    "chain_recorded": ("node", CHAIN_NODES, 1, 4),
    "conditional_recorded": ("run", 1, 20, 100),
    "conditional_recorded16": ("run", 1, 32, 160),
}
IN_FLIGHT = {"conditional_recorded16": 16}
"""Runs at a time (as a server runs them, sharing one workspace and store); 1 if not listed."""


def graph_for(name: str) -> dict[str, Any]:
    if name.startswith("chain"):
        return chain_graph(CHAIN, "bench.noop")
    if name == "fanout_sync":
        return fanout_graph(FANOUT, "bench.noop_sync")
    if name.startswith("fanout"):
        return fanout_graph(FANOUT, "bench.noop")
    return conditional_graph()


async def inner(name: str, iterations: int) -> None:
    import graphflow
    from graphflow.runner import Runner
    from graphflow.service import Workspace
    from graphflow.storage import open_store

    registry = make_registry()
    compiled = graphflow.validate_graph(graph_for(name), registry)
    inputs = [{"x": 1 if i % 2 == 0 else -1} for i in range(iterations + 1)]
    if "_recorded" not in name:
        runner = Runner(compiled)
        for x in inputs:
            await runner.run(x)
        return
    with tempfile.TemporaryDirectory() as tmp:
        async with open_store(Path(tmp) / "bench.db") as store:
            workspace = Workspace(store, registry)
            stored = await workspace.save(compiled)
            queue = iter(inputs)

            async def lane() -> None:
                for x in queue:
                    await workspace.run(stored, x)

            async with anyio.create_task_group() as tg:
                for _ in range(IN_FLIGHT.get(name, 1)):
                    tg.start_soon(lane)


def count(name: str, iterations: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, __file__,
                        "--inner", name, str(iterations)], check=True, capture_output=True,
                       env={**os.environ, "PYTHONHASHSEED": "0"})
        match = re.search(r"^(?:summary|totals): (\d+)", out.read_text(), re.MULTILINE)
        assert match, "no totals in callgrind output"
        return int(match.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description="callgrind instruction counts per node / per run")
    parser.add_argument("workloads", nargs="*", default=list(WORKLOADS))
    parser.add_argument("--inner", nargs=2, metavar=("WORKLOAD", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        anyio.run(inner, args.inner[0], int(args.inner[1]))
        return 0
    print(f"{'workload':24} {'instructions':>14}  per")  # noqa: T201
    for name in args.workloads:
        unit, per_iteration, small, large = WORKLOADS[name]
        extra = count(name, large) - count(name, small)
        print(f"{name:24} {extra / ((large - small) * per_iteration):14,.0f}  {unit}", flush=True)  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
