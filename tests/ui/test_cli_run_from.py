"""``graphflow run GRAPH.json --from NODE [--after RUN_ID]``: the file saved, then a run in which that
node and what follows it run again and the rest is reused from an earlier run; ``show`` says so."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from graphflow.ui.cli import app

runner = CliRunner()


def spec(t1: str = "Q: {value}", t2: str = "{value}!") -> dict[str, Any]:
    return {"schema_version": 1, "id": "fh", "name": "From here", "nodes": [
        {"id": "q", "kind": "input", "config": {"name": "q", "type": "string"}},
        {"id": "t1", "kind": "template", "config": {"template": t1}},
        {"id": "t2", "kind": "template", "config": {"template": t2}},
        {"id": "o", "kind": "output", "config": {"name": "answer"}},
        {"id": "k", "kind": "constant", "config": {"value": 42}},
        {"id": "o2", "kind": "output", "config": {"name": "k"}}],
        "edges": [{"id": "e1", "source": "q", "target": "t1"}, {"id": "e2", "source": "t1", "target": "t2"},
                  {"id": "e3", "source": "t2", "target": "o"}, {"id": "e4", "source": "k", "target": "o2"}]}


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, str]:
    return tmp_path / "fh.json", str(tmp_path / "gf.db")


def invoke(*args: str):
    return runner.invoke(app, list(args))


def write(path: Path, **templates: str) -> str:
    path.write_text(json.dumps(spec(**templates)))
    return str(path)


def latest_run(db: str) -> str:
    return invoke("runs", "--db", db).stdout.splitlines()[1].split()[0]


def test_run_from_a_node_reuses_the_rest_and_show_says_so(files):
    path, db = files
    assert invoke("run", write(path), "-i", "q=hi", "-q", "--db", db).exit_code == 0
    first = latest_run(db)
    done = invoke("run", write(path, t2="{value}?"), "--from", "t2", "-q", "--db", db)
    assert done.exit_code == 0, done.stderr
    assert json.loads(done.stdout) == {"k": 42, "answer": "Q: hi?"}  # the first run's input, t2's new template
    assert f"version 2 from 't2': running again t2, o; reusing q, t1, k, o2 from run {first}" in done.stderr
    second = latest_run(db)
    shown = invoke("show", second, "--db", db).stdout
    assert f"(run from node 't2', reusing run {first})" in shown.splitlines()[0]
    lines = {line.split()[0]: line for line in shown.splitlines()[2:] if line and not line.startswith(("{", " ", "}"))}
    assert lines["t1"].endswith(f"reused from {first}") and "reused" not in lines["t2"]


def test_after_names_the_run_to_reuse(files):
    path, db = files
    write(path)
    invoke("run", str(path), "-i", "q=one", "-q", "--db", db)
    older = latest_run(db)
    invoke("run", str(path), "-i", "q=two", "-q", "--db", db)
    done = invoke("run", str(path), "--from", "t2", "--after", older, "-q", "--db", db)
    assert done.exit_code == 0, done.stderr
    assert json.loads(done.stdout)["answer"] == "Q: one!"


def test_refusals_are_one_line_errors(files):
    path, db = files
    refused = invoke("run", write(path), "--from", "t2", "--db", db)
    assert refused.exit_code == 1 and "the graph has no run yet" in refused.stderr
    invoke("run", str(path), "-i", "q=hi", "-q", "--db", db)
    cases = [
        ((write(path, t1="Question: {value}"), "--from", "t2"), 1, "'t1' changed since that run"),
        ((str(path), "--from", "q"), 1, "'q' is an input node"),
        ((str(path), "--from", "nope"), 1, "graph 'fh' has no node 'nope'"),
        ((str(path), "--from", "t2", "--after", "nosuchrun"), 2, "no run 'nosuchrun'"),
        ((str(path), "--after", "x"), 2, "--after RUN_ID goes with --from NODE"),
        ((str(path), "--from", "t2", "-i", "q=x"), 2, "--from reuses the inputs of the earlier run"),
        ((str(path), "--from", "t2", "--no-store"), 2, "cannot go with --no-store"),
    ]
    for args, code, message in cases:
        done = invoke("run", *args, "--db", db)
        assert (done.exit_code, done.stderr.startswith("error:")) == (code, True), (args, done.stderr)
        assert message in done.stderr and "Traceback" not in done.stderr, (args, done.stderr)
