"""serve --reload-plugins: a changed plugin file is imported again; a broken one keeps the old code."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from typer.testing import CliRunner

from graphflow.registry import default_registry
from graphflow.ui.cli import app
from graphflow.ui.plugin_watch import PluginWatcher


def touch_later(path: Path) -> None:
    """A new modification time even on a file system with coarse timestamps."""
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def test_a_changed_plugin_file_is_reloaded_and_a_broken_one_keeps_the_old_code(tmp_path: Path) -> None:
    name = f"watched_{uuid.uuid4().hex[:8]}"
    path = tmp_path / f"{name}.py"
    path.write_text(f"def register(registry):\n    registry.register_function('{name}.a', lambda v: 1)\n")
    registry = default_registry([str(path)], installed=False)
    watcher = PluginWatcher(registry)
    assert watcher.poll() is None  # nothing changed
    path.write_text(f"def register(registry):\n    registry.register_function('{name}.b', lambda v: 2)\n")
    touch_later(path)
    assert watcher.poll() == "reloaded"
    assert f"{name}.b" in registry.functions and f"{name}.a" not in registry.functions
    path.write_text("def register(registry)\n")
    touch_later(path)
    outcome = watcher.poll()
    assert outcome is not None and outcome.startswith("failed: cannot import plugin file") and "SyntaxError" in outcome
    assert f"{name}.b" in registry.functions
    assert watcher.poll() is None  # reported once, not at every poll


def test_serve_has_the_option() -> None:
    result = CliRunner().invoke(app, ["serve", "--help"], terminal_width=200)
    assert "--reload-plugins" in result.stdout
