"""A process the crash tests kill with SIGKILL: ``start`` runs a 56-node graph in a
durable store, ``recover`` continues whatever the killed process left unfinished.

Every side-effecting node records each call, and makes its effect at most once per
idempotency key, in a second SQLite file the test reads afterwards.
"""

from __future__ import annotations

import random
import sqlite3
import sys
from pathlib import Path
from typing import Any

import anyio

import graphflow
from graphflow.service import Workspace
from graphflow.storage import open_store

LEASE = 0.3
"""Seconds: short, so a recovery waits little for the killed process's lease to expire."""
CHAIN, FAN = 14, 36
"""Chain and fan-out lengths: with the join, the map and the ends, 56 nodes."""


def crash_graph() -> dict[str, Any]:
    nodes: list[dict[str, Any]] = [{"id": "in", "kind": "input", "config": {"name": "seed", "type": "integer"}}]
    edges: list[dict[str, Any]] = []
    prev = "in"
    for i in range(CHAIN):
        nodes.append({"id": f"c{i}", "kind": "function", "config": {"function": "crash.effect"}})
        edges.append({"id": f"e_c{i}", "source": prev, "target": f"c{i}"})
        prev = f"c{i}"
    nodes.append({"id": "j", "kind": "join", "config": {"strategy": "all"}})
    for i in range(FAN):
        nodes.append({"id": f"f{i}", "kind": "function", "config": {"function": "crash.effect"}})
        edges += [{"id": f"e_f{i}", "source": prev, "target": f"f{i}"},
                  {"id": f"e_fj{i}", "source": f"f{i}", "target": "j"}]
    nodes += [
        {"id": "items", "kind": "function", "config": {"function": "crash.items"}},
        {"id": "m", "kind": "map", "config": {"function": "crash.item", "reduce": "crash.total", "concurrency": 4}},
        {"id": "after", "kind": "function", "config": {"function": "crash.effect"}},
        {"id": "out", "kind": "output", "config": {"name": "total"}},
    ]
    edges += [{"id": "e_items", "source": "j", "target": "items"}, {"id": "e_m", "source": "items", "target": "m"},
              {"id": "e_after", "source": "m", "target": "after"}, {"id": "e_out", "source": "after", "target": "out"}]
    return {"schema_version": 1, "id": "crash", "name": "crash test", "nodes": nodes, "edges": edges}


def registry(effects: Path) -> graphflow.Registry:
    reg = graphflow.default_registry(installed=False)

    async def effect(value: Any, ctx: graphflow.NodeContext) -> Any:
        await anyio.sleep(random.uniform(0, 0.004))
        with sqlite3.connect(effects) as conn:
            conn.execute("INSERT INTO calls(key) VALUES (?)", (ctx.idempotency_key,))
            conn.execute("INSERT OR IGNORE INTO effects(key) VALUES (?)", (ctx.idempotency_key,))
        return value if isinstance(value, int) else 1

    async def item(x: int) -> int:
        await anyio.sleep(random.uniform(0, 0.004))
        return x * x

    reg.register_function("crash.effect", effect)
    reg.register_function("crash.items", lambda value: list(range(20)))
    reg.register_function("crash.item", item)
    reg.register_function("crash.total", lambda results: sum(results))
    return reg


class AnnounceStart:
    """Tells the test the run is under way (its start is durable by the first node event)."""

    def __init__(self) -> None:
        self.said = False

    async def publish(self, event: Any) -> None:
        if event.kind == "node_started" and not self.said:
            self.said = True
            print("started", flush=True)  # noqa: T201 - the test waits for this line


async def main(mode: str, db: Path, effects: Path) -> None:
    with sqlite3.connect(effects) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS calls(key TEXT)")
        conn.execute("CREATE TABLE IF NOT EXISTS effects(key TEXT PRIMARY KEY)")
    async with open_store(db) as store:
        ws = Workspace(store, registry(effects), lease=LEASE)
        if mode == "start":
            await ws.save(graphflow.load_graph(crash_graph()))
            await ws.run("crash", {"seed": 1}, run_id="crash-run", sinks=[AnnounceStart()])
        else:
            await ws.recover_unfinished(wait=True)  # the killed process's lease expires first
    print("done", flush=True)  # noqa: T201


if __name__ == "__main__":
    anyio.run(main, sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]))
