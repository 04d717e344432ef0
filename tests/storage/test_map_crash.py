"""A map killed with SIGKILL mid-way, then resumed by another process: only the items that
were not recorded as finished run again (real processes, the installed command, one database)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ITEMS = 600
CRASH_AT = 450
PLUGIN = '''
import os
import signal

import anyio


def register(registry):
    async def item(x):
        if x == int(os.environ.get("MAPCRASH_AT", "-1")):
            os.kill(os.getpid(), signal.SIGKILL)  # the process dies mid-map
        with open(os.environ["MAPCRASH_EFFECTS"], "a") as f:
            f.write(f"{x}\\n")
        await anyio.sleep(0.002)
        return x * 10

    registry.register_function("mapcrash.item", item)
'''


def command(tmp_path: Path, *args: str, crash: bool, plugin: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "MAPCRASH_EFFECTS": str(tmp_path / "effects.txt")}
    env.pop("GRAPHFLOW_PLUGINS", None)
    env["GRAPHFLOW_LEASE_SECONDS"] = "1"  # the killed process keeps its lease until it expires
    if crash:
        env["MAPCRASH_AT"] = str(CRASH_AT)
    extra = ["--plugin", "mapcrash_plugin"] if plugin else []
    return subprocess.run([sys.executable, "-m", "graphflow.ui.cli", *args, *extra, "--db", str(tmp_path / "gf.db")],
                          capture_output=True, text=True, env=env, timeout=120)


def test_resumed_map_runs_only_unfinished_items(tmp_path: Path) -> None:
    (tmp_path / "mapcrash_plugin.py").write_text(PLUGIN)
    graph = {"schema_version": 1, "id": "mapcrash", "nodes": [
        {"id": "in", "kind": "input", "config": {"name": "items", "type": "array"}},
        {"id": "m", "kind": "map", "config": {"function": "mapcrash.item", "concurrency": 1}},
        {"id": "o", "kind": "output", "config": {"name": "o"}}],
        "edges": [{"id": "e1", "source": "in", "target": "m"}, {"id": "e2", "source": "m", "target": "o"}]}
    (tmp_path / "g.json").write_text(json.dumps(graph))
    first = command(tmp_path, "run", str(tmp_path / "g.json"), "-q", "--input-json",
                    json.dumps({"items": list(range(ITEMS))}), crash=True)
    assert first.returncode == -9, first.stderr
    runs = command(tmp_path, "runs", crash=False, plugin=False)
    assert len(runs.stdout.splitlines()) > 1, (runs.stdout, runs.stderr, first.stderr)
    run_id = runs.stdout.splitlines()[1].split()[0]
    for _ in range(40):  # until the dead process's lease has expired
        resumed = command(tmp_path, "resume", run_id, crash=False)
        if "lease expires" not in resumed.stderr:
            break
        time.sleep(0.25)
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["o"] == [x * 10 for x in range(ITEMS)]
    runs_of = Counter(int(line) for line in (tmp_path / "effects.txt").read_text().split())
    assert set(runs_of) == set(range(ITEMS))
    again = sorted(i for i, n in runs_of.items() if n > 1)
    # the ones run twice are the last batch before the kill, not the whole list
    assert len(again) < CRASH_AT / 2, f"{len(again)} items ran again"
    assert all(i < CRASH_AT for i in again) and max(runs_of.values()) == 2
