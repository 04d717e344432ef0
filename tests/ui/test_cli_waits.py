"""graphflow send and graphflow waits: a run waiting for an event, listed, refused a wrong event
with nothing changed, continued by the right one in another command (another process's store)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from graphflow.ui.cli import app

runner = CliRunner()

APPROVE = {
    "schema_version": 1, "id": "approve", "name": "Approve",
    "nodes": [{"id": "in", "kind": "input", "config": {"name": "x", "type": "integer", "example": 3}},
              {"id": "wait", "kind": "wait_event", "config": {"event": "approved"}},
              {"id": "out", "kind": "output", "config": {"name": "y"}}],
    "edges": [{"id": "a", "source": "in", "target": "wait"}, {"id": "b", "source": "wait", "target": "out"}],
}


def invoke(*args: str):
    return runner.invoke(app, list(args))


def test_send_wakes_a_waiting_run_and_it_continues(tmp_path: Path) -> None:
    db = str(tmp_path / "gf.db")
    graph = tmp_path / "approve.json"
    graph.write_text(json.dumps(APPROVE))
    started = invoke("run", str(graph), "--example", "-q", "--db", db)
    assert started.exit_code == 0, started.stderr
    assert "waiting: run" in started.stderr and "graphflow send" in started.stderr
    run_id = started.stderr.split("waiting: run ")[1].split()[0]

    listed = invoke("waits", "--db", db)
    assert listed.exit_code == 0 and run_id in listed.stdout and "approved" in listed.stdout

    refused = invoke("send", run_id, "rejected", "--db", db)
    assert refused.exit_code == 1
    assert "does not take event 'rejected'" in refused.stderr and "'approved'" in refused.stderr
    assert run_id in invoke("waits", run_id, "--db", db).stdout  # still waiting, unchanged

    bad = invoke("send", run_id, "approved", "--data", "{nope", "--db", db)
    assert bad.exit_code == 2 and "--data is not valid JSON" in bad.stderr

    sent = invoke("send", run_id, "approved", "--data", '{"by": "ana"}', "--db", db)
    assert sent.exit_code == 0, sent.stderr
    assert json.loads(sent.stdout) == {"y": {"by": "ana"}}
    assert "succeeded" in sent.stderr
    assert "no run is waiting" in invoke("waits", "--db", db).stdout
    again = invoke("send", run_id, "approved", "--db", db)
    assert again.exit_code == 1 and "succeeded" in again.stderr


def test_waits_fire_continues_a_due_timer(tmp_path: Path) -> None:
    db = str(tmp_path / "gf.db")
    graph = tmp_path / "timeout.json"
    spec = json.loads(json.dumps(APPROVE))
    spec["nodes"][1]["config"] = {"event": "approved", "timeout": 0.001, "on_timeout": "continue",
                                  "timeout_value": "nobody answered"}
    graph.write_text(json.dumps(spec))
    started = invoke("run", str(graph), "--example", "-q", "--db", db)
    assert started.exit_code == 0 and "waiting" in started.stderr
    fired = invoke("waits", "--fire", "--db", db)
    assert fired.exit_code == 0 and ": succeeded" in fired.stderr
    run_id = fired.stderr.split("continued run ")[1].split(":")[0]
    shown = invoke("show", run_id, "--db", db)
    assert '"nobody answered"' in shown.stdout


def test_a_refused_send_and_the_listing_word_the_wait_the_same_way(tmp_path: Path) -> None:
    from graphflow.waits import WaitRow

    db = str(tmp_path / "gf.db")
    graph = tmp_path / "review.json"
    spec = json.loads(json.dumps(APPROVE))
    spec["nodes"][1] = {"id": "wait", "kind": "review", "config": {"variant": "approval"}}
    graph.write_text(json.dumps(spec))
    started = invoke("run", str(graph), "--example", "-q", "--db", db)
    assert started.exit_code == 0, started.stderr
    run_id = started.stderr.split("waiting: run ")[1].split()[0]
    wording = WaitRow(run_id, "wait", "decision", f"{run_id}.wait", None, {}, 0.0).waits_for()
    assert wording == f"a decision on {run_id}.wait"
    refused = invoke("send", run_id, "approved", "--db", db)
    assert refused.exit_code == 1 and f"wait waits for {wording}" in refused.stderr
    listed = invoke("waits", run_id, "--db", db)
    assert wording in listed.stdout


def test_the_waiting_line_dates_a_due_time_that_is_not_today(tmp_path: Path) -> None:
    import re

    graph = tmp_path / "fortnight.json"
    spec = json.loads(json.dumps(APPROVE))
    spec["nodes"][1]["config"] = {"event": "approved", "timeout": 14 * 86_400}
    graph.write_text(json.dumps(spec))
    started = invoke("run", str(graph), "--example", "-q", "--db", str(tmp_path / "gf.db"))
    assert started.exit_code == 0, started.stderr
    assert re.search(r"event 'approved' \(due \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\)", started.stderr), started.stderr


def test_the_engine_alone_refuses_a_graph_that_may_wait_before_anything_runs(tmp_path: Path) -> None:
    graph = tmp_path / "approve.json"
    graph.write_text(json.dumps(APPROVE))
    refused = invoke("run", str(graph), "--example", "--no-store")
    assert refused.exit_code == 2 and refused.stdout == ""
    assert "cannot run without a database: node 'wait' (wait_event) may wait" in refused.stderr
    assert "without --no-store" in refused.stderr and "node_started" not in refused.stderr
