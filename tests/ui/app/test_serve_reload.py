"""``graphflow serve --reload-plugins`` as a command: saving a plugin file reloads it in the
running server; a broken save is reported and the server keeps serving."""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx
import pytest
from app_support import start_server, stop_server

pytestmark = pytest.mark.slow


def wait_for_log(log: Path, text: str, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while text not in (seen := log.read_text()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{text!r} not in the server's log:\n{seen}")
        time.sleep(0.1)
    return seen


def save(path: Path, text: str) -> None:
    before = path.stat().st_mtime_ns
    path.write_text(text)
    os.utime(path, ns=(before + 2_000_000_000, before + 2_000_000_000))  # a coarse clock still sees a change


def test_a_saved_plugin_is_reloaded_without_a_restart(tmp_path: Path) -> None:
    plugin = tmp_path / "served_nodes.py"
    plugin.write_text("def register(registry):\n    registry.register_function('served.one', lambda v: v)\n")
    served = start_server(tmp_path, "--reload-plugins", "--plugin", str(plugin))
    try:
        save(plugin, "def register(registry):\n    registry.register_function('served.two', lambda v: v)\n")
        wait_for_log(served.log, "plugins reloaded")
        save(plugin, "def register(registry)\n")
        wait_for_log(served.log, "plugins not reloaded (still running the previous code)")
        assert httpx.get(served.url + "/").status_code == 200
        assert served.process.poll() is None
    finally:
        stop_server(served)
