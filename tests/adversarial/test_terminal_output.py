"""Graph names, reasons and errors with terminal escape sequences and control characters: every
CLI printer (validate, import, run's progress and summary, graphs, runs, show) writes them as
visible escapes, never raw (an ESC sequence could retitle the window, clear the screen or forge
output; a carriage return overwrites a line; a bidi override reorders it)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from graphflow.text import printable
from graphflow.ui.cli import app

HOSTILE = "evil\x1b]0;pwned\x07\x1b[2J\x1b[31mred\rover\x08\x00\x7f\x9b31m\u202edesrever\u2066"
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
runner = CliRunner()


def graph_file(tmp_path: Path, **changes: object) -> str:
    graph = {"schema_version": 1, "id": "hostile", "name": HOSTILE, "nodes": [
        {"id": "c", "kind": "constant", "label": HOSTILE, "config": {"value": HOSTILE}},
        {"id": "halt", "kind": "stop", "config": {"status": "failed", "reason": HOSTILE}}],
        "edges": [{"id": "e", "source": "c", "target": "halt"}], **changes}
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(graph))
    return str(path)


def invoke(*args: str):
    done = runner.invoke(app, list(args))
    for stream in (done.stdout, done.stderr):
        assert not RAW.search(stream), (args, stream)
    return done


def test_printable_escapes_controls_and_keeps_text():
    assert printable("plain text, ünïcode, 表\tand\nlines") == "plain text, ünïcode, 表\tand\nlines"
    assert printable("a\x1b[2Jb\rc\x9bd\u202ee") == "a\\x1b[2Jb\\rc\\x9bd\\u202ee"
    assert printable("cell\twith\nbreaks\u2028", one_line=True) == "cell\\twith\\nbreaks\\u2028"
    assert printable(42) == "42"


def test_every_printer_escapes_hostile_text(tmp_path: Path):
    db = str(tmp_path / "gf.db")
    path = graph_file(tmp_path)
    validated = invoke("validate", path)
    assert validated.exit_code == 0 and "ok: evil\\x1b]0;pwned\\x07" in validated.stdout
    assert invoke("import", path, "--db", db).exit_code == 0
    ran = invoke("run", path, "--progress", "lines", "--db", db)
    assert ran.exit_code == 1 and "\\x1b[31mred\\rover" in ran.stderr
    assert json.loads(ran.stdout) == {}
    listed = invoke("graphs", "--db", db)
    assert "evil\\x1b]0;pwned\\x07\\x1b[2J" in listed.stdout and "\\u202edesrever\\u2066" in listed.stdout
    runs = invoke("runs", "--db", db)
    run_id = runs.stdout.splitlines()[1].split()[0]
    shown = invoke("show", run_id, "--db", db)
    assert "failed at halt: StoppedEarly: evil\\x1b]0;pwned" in shown.stdout


@pytest.mark.parametrize("changes", [{"nodes": [{"id": "x", "kind": HOSTILE}]}, {"id": HOSTILE}])
def test_problems_of_a_hostile_graph_are_escaped(tmp_path: Path, changes: dict[str, object]):
    done = invoke("validate", graph_file(tmp_path, edges=[], **changes))
    assert done.exit_code == 1 and "invalid graph" in done.stderr
