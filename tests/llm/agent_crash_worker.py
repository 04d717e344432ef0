"""A process the agent crash test kills in the middle of an agent's third step: ``start``
runs the agent in a durable store, ``recover`` continues what the killed process left.

The model is the test's scripted server (the providers file the environment names). The
one tool records every call, and makes its effect at most once per idempotency key, in a
second SQLite file the test reads. Call ``D`` of step 3 kills its own process with SIGKILL
the first time, once the other call of that step (``E``) is durable in the run's log.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

import anyio

import graphflow
from graphflow.service import Workspace
from graphflow.storage import open_store

LEASE = 0.3
"""Seconds: short, so the recovery waits little for the killed process's lease to expire."""


def agent_graph() -> dict[str, Any]:
    return {"schema_version": 1, "id": "agent-crash", "nodes": [
        {"id": "message", "kind": "input", "config": {"name": "message", "type": "string"}},
        {"id": "agent", "kind": "agent", "config": {"provider": "fake", "tools": ["crash.effect"], "stream": False}},
        {"id": "answer", "kind": "output", "config": {"name": "answer"}},
    ], "edges": [
        {"id": "e1", "source": "message", "target": "agent", "target_port": "message"},
        {"id": "e2", "source": "agent", "source_port": "text", "target": "answer"},
    ]}


def registry(db: Path, effects: Path) -> graphflow.Registry:
    reg = graphflow.default_registry(installed=False)
    crashed = effects.with_suffix(".crashed")

    def effect(name: str, ctx: graphflow.NodeContext) -> str:
        """Makes the named effect once.

        Args:
            name: Which effect.
        """
        with sqlite3.connect(effects) as conn:
            conn.execute("INSERT INTO calls(key, name) VALUES (?, ?)", (ctx.idempotency_key, name))
            conn.execute("INSERT OR IGNORE INTO effects(key) VALUES (?)", (ctx.idempotency_key,))
        if name == "D" and not crashed.exists():
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:  # wait until E's call is durable, then die mid-step
                with sqlite3.connect(db) as conn:
                    recorded = conn.execute("SELECT count(*) FROM events WHERE kind='tool_call' AND "
                                            "json_extract(body_json, '$.arguments.name') = 'E'").fetchone()
                if recorded[0]:
                    break
                time.sleep(0.01)
            crashed.touch()
            os.kill(os.getpid(), signal.SIGKILL)
        return f"{name} done"

    reg.register_function("crash.effect", effect)
    return reg


async def main(mode: str, db: Path, effects: Path) -> None:
    with sqlite3.connect(effects) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS calls(key TEXT, name TEXT)")
        conn.execute("CREATE TABLE IF NOT EXISTS effects(key TEXT PRIMARY KEY)")
    async with open_store(db) as store:
        ws = Workspace(store, registry(db, effects), lease=LEASE)
        if mode == "start":
            await ws.save(graphflow.load_graph(agent_graph()))
            await ws.run("agent-crash", {"message": "make effects"}, run_id="agent-run")
        else:
            await ws.recover_unfinished(wait=True)
    print("done", flush=True)  # noqa: T201


if __name__ == "__main__":
    anyio.run(main, sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]))
