"""Kill a durable run with SIGKILL at many points, restart, and check it finishes
exactly once: one success per node, a gap-free log, a sound database, effects once."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from crash_worker import CHAIN, FAN, crash_graph

pytestmark = pytest.mark.slow

WORKER = Path(__file__).with_name("crash_worker.py")
KILL_POINTS = 30
NODES = len(crash_graph()["nodes"])
EFFECT_NODES = [f"c{i}" for i in range(CHAIN)] + [f"f{i}" for i in range(FAN)] + ["after"]


def start_and_kill(db: Path, effects: Path, delay: float) -> None:
    proc = subprocess.Popen([sys.executable, str(WORKER), "start", str(db), str(effects)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "started"
    time.sleep(delay)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()


def recover(db: Path, effects: Path) -> None:
    done = subprocess.run([sys.executable, str(WORKER), "recover", str(db), str(effects)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def check(db: Path, effects: Path, succeeded_before: set[str], calls_before: dict[str, int]) -> None:
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        status, outputs = conn.execute("SELECT status, outputs_json FROM runs WHERE run_id='crash-run'").fetchone()
        assert status == "succeeded", status
        assert outputs == '{"total":2470}'
        seqs = [r[0] for r in conn.execute("SELECT seq FROM events WHERE run_id='crash-run' ORDER BY seq")]
        assert seqs == list(range(len(seqs)))
        successes = [r[0] for r in conn.execute(
            "SELECT node_id FROM events WHERE run_id='crash-run' AND kind='node_succeeded'")]
        assert len(successes) == len(set(successes)) == NODES
        kinds = [r[0] for r in conn.execute("SELECT kind FROM events WHERE run_id='crash-run' ORDER BY seq")]
        assert kinds[0] == "run_started" and kinds[-1] == "run_finished" and kinds.count("run_finished") == 1
    with sqlite3.connect(effects) as conn:
        keys = [r[0] for r in conn.execute("SELECT key FROM effects")]
        calls = dict(conn.execute("SELECT key, count(*) FROM calls GROUP BY key").fetchall())
    assert sorted(keys) == sorted(f"crash-run:{n}" for n in EFFECT_NODES)
    for node in succeeded_before:  # a recorded success is never run again
        key = f"crash-run:{node}"
        assert calls.get(key, 0) == calls_before.get(key, 0), node


def snapshot(db: Path, effects: Path) -> tuple[set[str], dict[str, int]]:
    with sqlite3.connect(db) as conn:
        succeeded = {r[0] for r in conn.execute(
            "SELECT node_id FROM events WHERE run_id='crash-run' AND kind='node_succeeded'")}
    with sqlite3.connect(effects) as conn:
        calls = dict(conn.execute("SELECT key, count(*) FROM calls GROUP BY key").fetchall())
    return succeeded, calls


@pytest.mark.parametrize("point", range(KILL_POINTS))
def test_sigkill_then_recover(tmp_path: Path, point: int) -> None:
    db, effects = tmp_path / "runs.db", tmp_path / "effects.db"
    start_and_kill(db, effects, delay=point * 0.006)
    succeeded, calls = snapshot(db, effects)
    recover(db, effects)
    check(db, effects, succeeded, calls)
