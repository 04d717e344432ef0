"""A plugin for the two-process lease tests: ``lease.slow`` sleeps, then makes its side effect
at most once per idempotency key, recording every call, in the SQLite file ``$LEASE_EFFECTS``."""

from __future__ import annotations

import os
import sqlite3
from typing import Any

import anyio

import graphflow

STEP = 0.4
"""Seconds each node sleeps before its effect."""


def chain_graph(length: int) -> dict[str, Any]:
    nodes: list[dict[str, Any]] = [{"id": "in", "kind": "input", "config": {"name": "seed", "type": "integer",
                                                                             "example": 1}}]
    edges: list[dict[str, Any]] = []
    prev = "in"
    for i in range(length):
        nodes.append({"id": f"s{i}", "kind": "function", "config": {"function": "lease.slow"}})
        edges.append({"id": f"e{i}", "source": prev, "target": f"s{i}"})
        prev = f"s{i}"
    nodes.append({"id": "out", "kind": "output", "config": {"name": "total"}})
    edges.append({"id": "e_out", "source": prev, "target": "out"})
    return {"schema_version": 1, "id": "lease-chain", "name": "lease chain", "nodes": nodes, "edges": edges}


def init(path: str) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS calls(key TEXT, pid INTEGER)")
        conn.execute("CREATE TABLE IF NOT EXISTS effects(key TEXT PRIMARY KEY, pid INTEGER)")


async def slow(value: Any, ctx: graphflow.NodeContext) -> Any:
    await anyio.sleep(STEP)
    with sqlite3.connect(os.environ["LEASE_EFFECTS"], timeout=10) as conn:
        conn.execute("INSERT INTO calls(key, pid) VALUES (?, ?)", (ctx.idempotency_key, os.getpid()))
        conn.execute("INSERT OR IGNORE INTO effects(key, pid) VALUES (?, ?)", (ctx.idempotency_key, os.getpid()))
    return value + 1


def register(registry: graphflow.Registry) -> None:
    registry.register_function("lease.slow", slow)
