"""node_failed keeps the node's own traceback (trimmed) and its input (truncated), and
``graphflow show`` prints both, so a failure can be diagnosed from the log alone."""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

import graphflow
from graphflow import failures
from graphflow.ui.cli import app

PLUGIN = '''
def parse_order(value):
    return check_total(value["total"])


def check_total(total):
    raise ValueError(f"total {total} is negative")


def register(registry):
    registry.register_function("diag.parse_order", parse_order)
'''


def failing_graph(value):
    return {"schema_version": 1, "id": "diag", "nodes": [
        {"id": "c", "kind": "constant", "config": {"value": value}},
        {"id": "parse", "kind": "function", "config": {"function": "diag.parse_order"}}],
        "edges": [{"id": "e", "source": "c", "target": "parse"}]}


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    name = f"diag_plugin_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("GRAPHFLOW_PLUGINS", raising=False)
    yield name
    sys.modules.pop(name, None)


def test_node_failed_keeps_the_traceback_and_a_truncated_input(plugin):
    registry = graphflow.default_registry([plugin], installed=False)
    result = graphflow.run_sync(failing_graph({"total": -5, "note": "x" * 10_000}), registry=registry)
    failed = next(e for e in result.events if e.kind == "node_failed")
    assert "in check_total" in failed.traceback and "in parse_order" in failed.traceback
    assert "ValueError: total -5 is negative" in failed.traceback
    assert "graphflow/attempts.py" not in failed.traceback  # the engine's frames are trimmed
    assert failed.input_preview.startswith('{"total": -5, "note": "xxx')
    assert len(failed.input_preview) < failures.MAX_INPUT_CHARS + 100 and "more characters" in failed.input_preview


def test_show_prints_the_input_and_traceback(plugin, tmp_path):
    path = tmp_path / "g.json"
    path.write_text(json.dumps(failing_graph({"total": -5})))
    db = str(tmp_path / "gf.db")
    runner = CliRunner()
    done = runner.invoke(app, ["run", str(path), "-q", "--plugin", plugin, "--db", db])
    assert done.exit_code == 1
    run_id = runner.invoke(app, ["runs", "--db", db]).stdout.splitlines()[1].split()[0]
    shown = runner.invoke(app, ["show", run_id, "--db", db])
    assert shown.exit_code == 0
    assert 'input: {"total": -5}' in shown.stdout
    assert "in check_total" in shown.stdout and "ValueError: total -5 is negative" in shown.stdout
