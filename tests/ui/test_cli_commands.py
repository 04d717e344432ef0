"""The installed command with a database: runs recorded, history, show, resume, stats, import/export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import graphflow
from graphflow.ui.cli import app

SAMPLES = Path(__file__).resolve().parents[2] / "sample_graphs"
runner = CliRunner()


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "gf.db")


def invoke(*args: str):
    return runner.invoke(app, list(args))


def test_run_is_recorded_and_shown(db):
    done = invoke("run", str(SAMPLES / "resilience_demo.json"), "-i", "query=refund window", "-q", "--db", db)
    assert done.exit_code == 0, done.stderr
    assert json.loads(done.stdout)["answer"]["source"] == "backup"
    listed = invoke("runs", "--db", db)
    assert "resilience_demo" in listed.stdout and "succeeded" in listed.stdout
    run_id = listed.stdout.splitlines()[1].split()[0]
    shown = invoke("show", run_id, "--db", db)
    assert shown.exit_code == 0
    primary = next(line for line in shown.stdout.splitlines() if line.startswith("primary "))
    assert "failed" in primary and "ConnectionError" in primary and " 3 " in primary
    assert "degraded, default used" in shown.stdout


EXAMPLE_RUNS = {
    # sample: (what its example run shows, checked on the outputs)
    "sequential_chain": lambda out: out["account"]["sent_to"] == "ana.lima@example.com",
    "parallel_enrichment": lambda out: (out["report"]["customer"]["id"], out["report"]["partial_failure"],
                                        out["report"]["errors"]) == ("C002", True,
                                                                    {"erp": "ConnectionError: ERP timeout"}),
    "decision_tree": lambda out: out["decision"]["action"] == "auto_approve",
    "email_triage": lambda out: (out["summary"]["total"], out["errors"]) == (100, []),
    "resilience_demo": lambda out: (out["answer"]["source"], out["answer"]["fallback_reason"]) == (
        "backup", "ConnectionError: primary source unavailable"),
}


@pytest.mark.parametrize("name", EXAMPLE_RUNS)
def test_every_sample_runs_with_one_command(db, name):
    """``graphflow run sample_graphs/X.json --example``: every input node has an example, the run
    succeeds, its outputs are printed and it is recorded."""
    sample = SAMPLES / f"{name}.json"
    spec = graphflow.load_graph(sample.read_text())
    assert all(n.config.get("example") is not None for n in spec.nodes if n.kind == "input")
    done = invoke("run", str(sample), "--example", "--progress", "lines", "--db", db)
    assert done.exit_code == 0, done.stderr
    assert EXAMPLE_RUNS[name](json.loads(done.stdout)), done.stdout
    assert done.stderr.strip().splitlines()[-1].startswith("succeeded")
    assert "succeeded" in invoke("runs", "--db", db).stdout


def test_example_missing_for_a_required_input_is_one_line(db, tmp_path):
    data = json.loads((SAMPLES / "parallel_enrichment.json").read_text())
    del next(n for n in data["nodes"] if n["kind"] == "input")["config"]["example"]
    graph = tmp_path / "no_example.json"
    graph.write_text(json.dumps(data))
    done = invoke("run", str(graph), "--example", "--db", db)
    assert done.exit_code == 2 and done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        "error: --example: required input 'customer_id' has no example; give --input customer_id=VALUE"]
    assert invoke("runs", "--db", db).stdout.strip().splitlines()[1:] == []  # nothing was run


def test_stats_table_after_runs(db):
    for query in ("refund window", "refund window", "healthy refund window"):
        invoke("run", str(SAMPLES / "resilience_demo.json"), "-i", f"query={query}", "-q", "--db", db)
    stats = invoke("stats", "resilience_demo", "--db", db)
    assert stats.exit_code == 0
    assert "3 runs" in stats.stdout
    header = stats.stdout.splitlines()[1].split()
    assert header[:4] == ["NODE", "RUNS", "P50", "P95"]
    assert any(line.startswith("primary ") for line in stats.stdout.splitlines())
    assert stats.stdout.splitlines()[-1] == "breaker primary-api: open"  # opened by the first run, persisted


def test_stats_of_an_unknown_graph_names_it(db):
    result = invoke("stats", "nope", "--db", db)
    assert result.exit_code == 2 and result.output.strip() == "error: no graph 'nope'"


def test_same_graph_is_one_version_and_a_change_is_a_new_one(db, tmp_path):
    sample = SAMPLES / "sequential_chain.json"
    assert invoke("import", str(sample), "--db", db).stdout.strip() == "imported sequential_chain version 1"
    assert invoke("import", str(sample), "--db", db).stdout.strip() == "imported sequential_chain version 1"
    data = json.loads(sample.read_text())
    data["name"] = "renamed"
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps(data))
    assert invoke("import", str(changed), "--db", db).stdout.strip() == "imported sequential_chain version 2"
    exported = invoke("export", "sequential_chain", "--version", "1", "--db", db)
    assert json.loads(exported.stdout) == json.loads(graphflow.load_graph(sample.read_text()).to_json())
    out = tmp_path / "out.json"
    invoke("export", "sequential_chain", "-o", str(out), "--db", db)
    assert json.loads(out.read_text())["name"] == "renamed"


def test_import_of_an_invalid_graph_stores_nothing(db, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"schema_version": 1, "id": "bad", "nodes": [{"id": "a", "kind": "nope"}]}))
    done = invoke("import", str(bad), "--db", db)
    assert done.exit_code == 1 and "unknown_kind" in done.stderr and "'a'" in done.stderr
    assert "bad" not in invoke("graphs", "--db", db).stdout


def test_resume_from_failure_is_a_new_run(db):
    chain = str(SAMPLES / "sequential_chain.json")
    failed = invoke("run", chain, "-i", "message=no address here", "-q", "--db", db)
    assert failed.exit_code == 1
    run_id = invoke("runs", "--db", db).stdout.splitlines()[1].split()[0]
    again = invoke("resume", run_id, "--db", db)
    assert again.exit_code == 1 and "already failed" in again.stderr
    retried = invoke("resume", run_id, "--from-failure", "--db", db)
    assert retried.exit_code == 1  # same graph, same input: fails again at the same step
    assert len(invoke("runs", "--db", db).stdout.strip().splitlines()) == 3


def test_unknown_run_and_graph_are_one_line_errors(db):
    for args in (("show", "nope"), ("stats", "nope"), ("export", "nope"), ("resume", "nope")):
        done = invoke(*args, "--db", db)
        assert done.exit_code in (1, 2) and "Traceback" not in done.stderr + done.stdout, args
        assert done.stderr.startswith("error:"), (args, done.stderr)


def test_serve_refuses_to_bind_beyond_loopback_without_a_token(db, monkeypatch):
    monkeypatch.delenv("GRAPHFLOW_TOKEN", raising=False)
    done = invoke("serve", "--host", "0.0.0.0", "--db", db)
    assert done.exit_code != 0 and "token" in done.stderr


def test_a_graph_tools_run_is_listed_and_shown_with_its_parent(db):
    done = invoke("run", str(SAMPLES / "support_agent.json"), "--example", "--db", db)
    assert done.exit_code == 0, done.output
    rows = [line.split() for line in invoke("runs", "--db", db).stdout.splitlines()[1:]]
    parent = next(row[0] for row in rows if row[1] == "support_agent")
    (sub,) = [row[0] for row in rows if row[1] == "refund_eligibility"]
    assert sub.startswith(f"{parent}:agent:")
    shown = invoke("show", sub, "--db", db)
    assert shown.exit_code == 0 and f"(part of run {parent})" in shown.stdout.splitlines()[0]
