"""Run ownership: a process executing a run holds a lease on it; another process (``graphflow
resume``, a second ``graphflow serve``) takes the run over only once the lease has expired.

The two-process test runs the real command line on one database: the first process executes a
slow chain whose nodes make side effects per idempotency key; a second is refused while the
first is alive; the first is killed with SIGKILL; the second takes over after the expiry."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import anyio
import pytest
from lease_effects import chain_graph, init

import graphflow
from graphflow import events as ev
from graphflow.clock import FakeClock
from graphflow.service import Workspace
from graphflow.storage import open_store
from graphflow.storage.errors import LeaseHeld, LeaseLost

HERE = Path(__file__).resolve().parent
LEASE = 2.0
LENGTH = 8


def cli(*args: str, db: Path, effects: Path, **kwargs):
    env = {**os.environ, "GRAPHFLOW_LEASE_SECONDS": str(LEASE), "LEASE_EFFECTS": str(effects),
           "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]), "COLUMNS": "300"}
    command = [sys.executable, "-m", "graphflow.ui.cli", *args, "--db", str(db), "--plugin", "lease_effects"]
    return command, env


def rows(path: Path, sql: str, params: tuple = ()) -> list[tuple]:
    with sqlite3.connect(path, timeout=10) as conn:
        return conn.execute(sql, params).fetchall()


def wait_for(predicate, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def succeeded_nodes(db: Path) -> list[str]:
    try:
        return [r[0] for r in rows(db, "SELECT node_id FROM events WHERE kind = 'node_succeeded'")]
    except sqlite3.OperationalError:  # not created yet
        return []


@pytest.mark.slow
def test_a_second_process_takes_a_run_over_only_after_the_killed_owners_lease_expires(tmp_path):
    db, effects, graph = tmp_path / "runs.db", tmp_path / "effects.db", tmp_path / "chain.json"
    graph.write_text(json.dumps(chain_graph(LENGTH)))
    init(str(effects))
    command, env = cli("run", str(graph), "--example", "-q", db=db, effects=effects)
    first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: len(succeeded_nodes(db)) >= 3, "three nodes to succeed")
        (run_id,) = [r[0] for r in rows(db, "SELECT run_id FROM runs")]
        command, env = cli("resume", run_id, db=db, effects=effects)
        refused = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
        assert refused.returncode == 1, refused.stderr
        assert f":{first.pid}:" in refused.stderr and "lease expires at" in refused.stderr, refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
        assert first.poll() is None  # the owner was never disturbed
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.communicate()
    done_before = set(succeeded_nodes(db))
    (expires_at,) = [r[0] for r in rows(db, "SELECT expires_at FROM run_leases WHERE run_id = ?", (run_id,))]
    time.sleep(max(0.0, expires_at - time.time()) + 0.05)
    taken = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert taken.returncode == 0, taken.stderr
    assert json.loads(taken.stdout) == {"total": 1 + LENGTH}

    kinds = [r[0] for r in rows(db, "SELECT kind FROM events WHERE run_id = ? ORDER BY seq", (run_id,))]
    seqs = [r[0] for r in rows(db, "SELECT seq FROM events WHERE run_id = ? ORDER BY seq", (run_id,))]
    assert seqs == list(range(len(seqs)))
    assert kinds[0] == "run_started" and kinds[-1] == "run_finished" and kinds.count("run_finished") == 1
    assert kinds.count("run_resumed") == 1
    successes = succeeded_nodes(db)
    assert len(successes) == len(set(successes)) == LENGTH + 2
    effect_keys = [r[0] for r in rows(effects, "SELECT key FROM effects")]
    assert sorted(effect_keys) == sorted(f"{run_id}:s{i}" for i in range(LENGTH))
    calls = dict(rows(effects, "SELECT key, count(*) FROM calls GROUP BY key"))
    for node in done_before - {"in"}:  # a recorded success is never run again
        assert calls[f"{run_id}:{node}"] == 1, node
    assert rows(db, "SELECT status FROM runs") == [("succeeded",)]
    assert rows(db, "SELECT * FROM run_leases") == []  # released at the end


# -- in one process, two workspaces on one file (fake clock: no waiting) -------------------------------


async def started_run(store, run_id: str) -> None:
    await store.publish(ev.RunStarted(run_id=run_id, seq=0, at=1.0, graph_id="g", node_ids=["n"]))
    await store.flush()


@pytest.mark.anyio
async def test_take_over_is_refused_while_the_lease_is_live_and_allowed_once_it_expired(tmp_path):
    async with open_store(tmp_path / "g.db") as store:
        await started_run(store, "r1")
        store.claim_new_run("r1", "alpha", 10, now=100.0)
        with pytest.raises(LeaseHeld, match=r"run r1 is held by alpha \(.*\); its lease expires at") as held:
            await store.take_over("r1", "beta", 10, now=109.0)
        assert held.value.expires_at == 110.0
        await store.take_over("r1", "alpha", 10, now=109.0)  # the owner itself may take it again
        await store.take_over("r1", "beta", 10, now=119.5)  # expired: alpha renewed it at 109 only
        with pytest.raises(LeaseLost, match="another process took the run over"):
            await store.renew_lease("r1", "alpha", 10, now=120.0)
        store.release_lease("r1", "alpha")  # not alpha's any more: kept
        assert (await store.lease_of("r1")).owner == "beta"


@pytest.mark.anyio
async def test_a_finished_run_is_never_taken_over(tmp_path):
    async with open_store(tmp_path / "g.db") as store:
        await started_run(store, "r1")
        await store.publish(ev.RunFinished(run_id="r1", seq=1, at=2.0, status="succeeded"))
        with pytest.raises(ValueError, match="already succeeded; a finished run is never changed"):
            await store.take_over("r1", "beta", 10, now=1e12)
        assert await store.lease_of("r1") is None


def slow_registry(release: anyio.Event) -> graphflow.Registry:
    registry = graphflow.default_registry(installed=False)

    async def wait(value):
        await release.wait()
        return value

    registry.register_function("t.wait", wait)
    return registry


WAIT_GRAPH = {"schema_version": 1, "id": "w", "nodes": [
    {"id": "in", "kind": "input", "config": {"name": "x", "type": "integer"}},
    {"id": "w", "kind": "function", "config": {"function": "t.wait"}},
    {"id": "out", "kind": "output", "config": {"name": "x"}}],
    "edges": [{"id": "a", "source": "in", "target": "w"}, {"id": "b", "source": "w", "target": "out"}]}


@pytest.mark.anyio
async def test_the_heartbeat_renews_the_lease_while_the_run_executes(tmp_path):
    clock, release = FakeClock(), anyio.Event()
    async with open_store(tmp_path / "g.db", clock=clock) as store:
        ws = Workspace(store, slow_registry(release), clock=clock, lease=3.0, owner="alpha")
        await ws.save(graphflow.load_graph(WAIT_GRAPH))
        other = Workspace(store, slow_registry(release), clock=clock, lease=3.0, owner="beta")
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: ws.run("w", {"x": 1}, run_id="r1"))
            await wait_until(lambda: store.lease_of("r1"), clock)
            for _ in range(10):  # 10 leases long: the heartbeat keeps it alive
                clock.advance(1.5)
                await anyio.sleep(0.02)
            lease = await store.lease_of("r1")
            assert lease.owner == "alpha" and lease.expires_at > clock.time()
            with pytest.raises(LeaseHeld):
                await other.resume("r1")
            release.set()
        assert (await store.get_run("r1")).status == "succeeded"
        assert await store.lease_of("r1") is None


@pytest.mark.anyio
async def test_a_run_whose_lease_was_taken_over_stops_executing_at_once(tmp_path):
    clock, release = FakeClock(), anyio.Event()
    async with open_store(tmp_path / "g.db", clock=clock) as store:
        ws = Workspace(store, slow_registry(release), clock=clock, lease=3.0, owner="alpha")
        await ws.save(graphflow.load_graph(WAIT_GRAPH))
        outcome: list[BaseException] = []

        async def run() -> None:
            try:
                await ws.run("w", {"x": 1}, run_id="r1")
            except LeaseLost as exc:
                outcome.append(exc)

        async with anyio.create_task_group() as tg:
            tg.start_soon(run)
            await wait_until(lambda: store.lease_of("r1"), clock)
            await store.take_over("r1", "beta", 3.0, now=clock.time() + 100)  # as if alpha had stalled
            clock.advance(1.5)  # alpha's next heartbeat finds the lease gone
            await wait_until(lambda: done(outcome), clock)
        assert "another process took the run over" in str(outcome[0])
        kinds = [e.kind for e in await store.load_events("r1")]
        assert "run_finished" not in kinds and "run_cancelled" not in kinds  # left to the new owner
        assert (await store.lease_of("r1")).owner == "beta"


async def done(outcome: list[BaseException]) -> bool:
    return bool(outcome)


async def wait_until(check, clock: FakeClock | None, tries: int = 500) -> None:
    for _ in range(tries):
        if await check():
            return
        await anyio.sleep(0.01)
    raise AssertionError("condition never held")


@pytest.mark.anyio
async def test_a_run_resumed_from_a_failure_holds_a_lease_too(tmp_path):
    from graphflow.runner import RunControl

    release = anyio.Event()
    async with open_store(tmp_path / "g.db") as store:
        ws = Workspace(store, slow_registry(release), owner="alpha")
        await ws.save(graphflow.load_graph(WAIT_GRAPH))
        control = RunControl()
        control.cancel("stopped")
        assert (await ws.run("w", {"x": 1}, run_id="r1", control=control)).status == "cancelled"
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: ws.resume_from_failure("r1", new_run_id="r2"))
            await wait_until(lambda: store.lease_of("r2"), None)
            assert (await store.lease_of("r2")).owner == "alpha"
            release.set()
        assert (await store.get_run("r2")).status == "succeeded"
        assert await store.lease_of("r2") is None
