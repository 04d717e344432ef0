"""``graphflow serve`` in a subprocess, for the browser and command tests."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import anyio
import httpx


def in_thread(fn: Callable[[], Awaitable[Any]]) -> Any:
    """``anyio.run`` off the main thread, where Playwright's sync API may keep an event loop running."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(anyio.run, fn).result(timeout=30)


UNFINISHED = ("running", "waiting")


async def run_ended(store: Any, run_id: str, *, unfinished: tuple[str, ...] = UNFINISHED, within: float = 20) -> Any:
    """The run's summary once its status is no longer one of ``unfinished`` (a store or a workspace)."""
    read = store.run_summary if hasattr(store, "run_summary") else store.get_run
    with anyio.fail_after(within):
        while (summary := await read(run_id)).status in unfinished:  # noqa: ASYNC110 - another task or process ends it
            await anyio.sleep(0.02)
    return summary


@dataclass
class DbRuns:
    """Reads a run's status and outputs straight from a database another process (a server) writes."""

    db: Path

    async def get_run(self, run_id: str) -> Any:
        with sqlite3.connect(self.db) as conn:
            status, outputs = conn.execute("SELECT status, outputs_json FROM runs WHERE run_id = ?",
                                           (run_id,)).fetchone()
        return SimpleNamespace(status=status, outputs=json.loads(outputs))


def ended_in(db: Path, run_id: str) -> Any:
    """``run_ended`` for a run a server executes: its status and outputs, read from its database."""
    return in_thread(lambda: run_ended(DbRuns(db), run_id, within=30))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve_env(db: Path) -> dict[str, str]:
    """The test process' environment minus what would make NiceGUI think it runs under pytest."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "NICEGUI_"))}
    env.pop("GRAPHFLOW_TOKEN", None)
    return {**env, "GRAPHFLOW_DB": str(db)}


def graphflow_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "graphflow", *args]


@dataclass
class Served:
    url: str
    db: Path
    process: subprocess.Popen[bytes]
    log: Path


def start_server(tmp: Path, *args: str) -> Served:
    db, port, log = tmp / "served.db", free_port(), tmp / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(graphflow_command("serve", "--port", str(port), *args), env=serve_env(db),
                                   stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(url + "/", timeout=2).status_code in (200, 401):
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"graphflow serve did not start:\n{log.read_text()}")
        time.sleep(0.1)
    return Served(url, db, process, log)


def stop_server(served: Served) -> None:
    served.process.terminate()
    try:
        served.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        served.process.kill()
        served.process.wait()
