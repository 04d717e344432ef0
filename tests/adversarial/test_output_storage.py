"""A large node output is stored once (issue 10, defect 8): a 4 MB output that reaches an output
node was written six times (two node_succeeded events, run_finished, two node_outputs rows, the
run row: 24,001,719 bytes); now once, in ``blobs``, and referenced from those places (the
``node_outputs`` rows are gone since: a node's checkpoint is its event)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

PLUGIN = '''
def register(registry):
    registry.register_function("hostile.big", lambda value: "y" * 4_000_000)
'''

GRAPH = {"schema_version": 1, "id": "big", "name": "big",
         "nodes": [{"id": "c", "kind": "constant", "config": {"value": 1}},
                   {"id": "b", "kind": "function", "config": {"function": "hostile.big"}},
                   {"id": "o", "kind": "output", "config": {"name": "o"}}],
         "edges": [{"id": "e1", "source": "c", "source_port": "out", "target": "b", "target_port": "in"},
                   {"id": "e2", "source": "b", "source_port": "out", "target": "o", "target_port": "in"}]}


@pytest.mark.slow
def test_a_large_output_is_stored_once(tmp_path: Path) -> None:
    (tmp_path / "big_plugin.py").write_text(PLUGIN)
    (tmp_path / "g.json").write_text(json.dumps(GRAPH))
    db = tmp_path / "x.db"
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "GRAPHFLOW_DB": str(db)}
    env.pop("GRAPHFLOW_PLUGINS", None)
    done = subprocess.run([sys.executable, "-m", "graphflow", "run", str(tmp_path / "g.json"),
                           "--plugin", "big_plugin", "-q"], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        stored = sum(conn.execute(sql).fetchone()[0] or 0 for sql in (
            "SELECT sum(length(body_json)) FROM events",
            "SELECT sum(length(outputs_json)) FROM runs",
            "SELECT sum(length(body_json)) FROM blobs"))
    assert 4_000_000 <= stored < 4_100_000, f"{stored:,} bytes stored for one 4,000,000-byte output"
    shown = subprocess.run([sys.executable, "-m", "graphflow", "runs"], capture_output=True, text=True, env=env,
                           timeout=60)
    assert shown.returncode == 0 and "succeeded" in shown.stdout
