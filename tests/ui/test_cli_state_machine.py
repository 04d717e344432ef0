"""The loan sample from the terminal: graphflow run --example waits in its first state, then each
graphflow send (a new command, a new store on the file) moves it; a refused event changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

import graphflow.sample_graphs
from graphflow.ui.cli import app

runner = CliRunner()
SAMPLE = str(Path(graphflow.sample_graphs.__file__).parent / "loan_application.json")


def invoke(*args: str):
    return runner.invoke(app, list(args))


def test_the_loan_sample_runs_to_its_first_wait_and_graphflow_send_moves_it(tmp_path: Path) -> None:
    db = str(tmp_path / "gf.db")
    started = invoke("run", SAMPLE, "--example", "-q", "--db", db)
    assert started.exit_code == 0, started.stderr
    run_id = started.stderr.split("waiting: run ")[1].split()[0]
    assert "review" in invoke("waits", run_id, "--db", db).stdout

    refused = invoke("send", run_id, "approve", "--db", db)
    assert refused.exit_code == 1
    assert "event 'approve' is not valid in state 'submitted' (valid now: 'review')" in refused.stderr
    for event in ("review", "approve", "fund"):
        moved = invoke("send", run_id, event, "--by", "officer", "--db", db)
        assert moved.exit_code == 0, moved.stderr
    guarded = invoke("send", run_id, "documents", "--data", '{"documents": []}', "--db", db)
    assert guarded.exit_code == 1 and "not valid in state 'funding_failed'" in guarded.stderr
    done = invoke("send", run_id, "retry", "--by", "officer", "--db", db)
    assert done.exit_code == 0, done.stderr
    outcome = json.loads(done.stdout)["outcome"]
    assert outcome["state"] == "funded"
    assert [h["to"] for h in outcome["history"]] == [
        "submitted", "under_review", "approved", "funded", "funding_failed", "funded"]
    assert outcome["history"][-1]["who"] == "officer"
