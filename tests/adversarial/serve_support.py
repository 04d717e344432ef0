"""``graphflow serve`` in a subprocess on 127.0.0.1 and a temporary database, for the hostile
request and output tests (a real server: its middleware, uvicorn and socket.io included)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx


def in_thread(fn: Callable[[], Awaitable[Any]]) -> Any:
    """``anyio.run`` off the main thread, where Playwright's sync API may keep an event loop running."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(anyio.run, fn).result(timeout=30)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    url: str
    port: int
    db: Path
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def serve(tmp: Path, *args: str) -> Server:
    db, port, log = tmp / "served.db", free_port(), tmp / "serve.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "NICEGUI_"))}
    env.pop("GRAPHFLOW_TOKEN", None)
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "graphflow.ui.cli", "serve", "--port", str(port),
                                    "--db", str(db), *args], env=env, stdout=out, stderr=subprocess.STDOUT)
    server = Server(f"http://127.0.0.1:{port}", port, db, process, log)
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(server.url + "/", timeout=2).status_code in (200, 401):
                return server
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"graphflow serve did not start:\n{log.read_text()}")
        time.sleep(0.1)
