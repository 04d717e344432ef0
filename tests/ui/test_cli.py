"""The ``graphflow`` command line: exit codes, stdout/stderr split, messages, events."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from graphflow.events import event_from_json
from graphflow.ui.cli import app

PLUGIN_SOURCE = '''
import time


def register(registry):
    def inc(value):
        return value + 1

    def boom(value):
        raise ValueError("boom")

    def stuck(value):
        time.sleep(30)

    registry.register_function("clitest.inc", inc)
    registry.register_function("clitest.boom", boom, description="always fails")
    registry.register_function("clitest.stuck", stuck, blocking=True)
'''


def node(node_id: str, kind: str, **config: Any) -> dict[str, Any]:
    return {"id": node_id, "kind": kind, "config": config}


def edge(source: str, target: str, source_port: str = "out") -> dict[str, Any]:
    return {"id": f"{source}-{source_port}-{target}", "source": source, "source_port": source_port, "target": target}


def graph(*items: dict[str, Any], name: str = "CLI test") -> dict[str, Any]:
    return {"schema_version": 1, "id": "clitest", "name": name,
            "nodes": [i for i in items if "kind" in i], "edges": [i for i in items if "source" in i]}


INC_GRAPH = graph(
    node("in", "input", name="x", type="integer"),
    node("inc", "function", function="clitest.inc"),
    node("out", "output", name="result"),
    edge("in", "inc"),
    edge("inc", "out"),
)
FAILING_GRAPH = graph(
    node("c", "constant", value=1),
    node("bad", "function", function="clitest.boom"),
    node("out", "output", name="result"),
    edge("c", "bad"),
    edge("bad", "out"),
)
CONST_GRAPH = graph(
    node("greeting", "constant", value="hello"),
    node("out", "output", name="greeting"),
    edge("greeting", "out"),
)


@pytest.fixture(autouse=True)
def _no_env_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GRAPHFLOW_PLUGINS", raising=False)


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A plugin module (unique name) on sys.path that registers clitest.* functions."""
    name = f"clitest_plugin_{uuid.uuid4().hex[:8]}"
    plugin_dir = tmp_path / "plugins"
    plugin_dir.mkdir()
    (plugin_dir / f"{name}.py").write_text(PLUGIN_SOURCE)
    monkeypatch.syspath_prepend(str(plugin_dir))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(plugin_dir), os.environ.get("PYTHONPATH", "")]))
    yield name
    sys.modules.pop(name, None)


def write(tmp_path: Path, data: dict[str, Any] | str, name: str = "graph.json") -> str:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return str(path)


def cli(*args: str) -> Any:
    result = CliRunner().invoke(app, list(args))
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result


# validate ----------------------------------------------------------------------------


def test_validate_ok(tmp_path: Path, plugin: str) -> None:
    result = cli("validate", write(tmp_path, INC_GRAPH), "--plugin", plugin)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == "ok: CLI test (3 nodes, 2 edges)"


def test_validate_reports_every_problem_with_its_node(tmp_path: Path) -> None:
    bad = graph(
        node("a", "function", function="nobody.registered.this"),
        node("b", "no_such_kind"),
        node("out", "output", name="r"),
        edge("a", "out"),
    )
    result = cli("validate", write(tmp_path, bad))
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert any("unknown_function" in line and "'a'" in line and "nobody.registered.this" in line for line in lines)
    assert any("unknown_kind" in line and "'b'" in line for line in lines)
    assert "invalid graph (2 problems)" in result.stderr


@pytest.mark.parametrize("command", ["validate", "run"])
def test_missing_file(tmp_path: Path, command: str) -> None:
    result = cli(command, str(tmp_path / "nope.json"))
    assert result.exit_code == 2
    assert "nope.json" in result.stderr and "No such file or directory" in result.stderr


@pytest.mark.parametrize("command", ["validate", "run"])
def test_not_json_file(tmp_path: Path, command: str) -> None:
    result = cli(command, write(tmp_path, "{not json", "broken.json"))
    assert result.exit_code == 1
    assert "not_json" in result.stderr and "not valid JSON" in result.stderr
    assert result.stdout == ""


def test_unknown_plugin(tmp_path: Path) -> None:
    result = cli("validate", write(tmp_path, CONST_GRAPH), "--plugin", "no_such_module_for_clitest")
    assert result.exit_code == 2
    assert "cannot import plugin module 'no_such_module_for_clitest'" in result.stderr


# run ---------------------------------------------------------------------------------


def test_run_success_prints_only_outputs_json_on_stdout(tmp_path: Path) -> None:
    result = cli("run", write(tmp_path, CONST_GRAPH), "--progress", "lines")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {"greeting": "hello"}
    assert "greeting" in result.stderr and "succeeded" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("succeeded")


def test_run_progress_lines_name_each_node_event(tmp_path: Path) -> None:
    result = cli("run", write(tmp_path, CONST_GRAPH), "--progress", "lines")
    lines = result.stderr.splitlines()
    assert lines[0].startswith("run ") and "'clitest'" in lines[0]
    # constants and outputs run inline: they record only their outcome, no "started" line
    assert any(line.startswith("+") and "greeting" in line and "succeeded" in line for line in lines)
    assert any(line.startswith("+") and "out" in line and "succeeded" in line for line in lines)
    assert not any("started" in line and "greeting" in line for line in lines)


def test_run_progress_table(tmp_path: Path) -> None:
    result = cli("run", write(tmp_path, CONST_GRAPH), "--progress", "table")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {"greeting": "hello"}
    assert "greeting" in result.stderr and "succeeded: 2" in result.stderr


def test_run_quiet(tmp_path: Path) -> None:
    result = cli("run", write(tmp_path, CONST_GRAPH), "--quiet")
    assert result.exit_code == 0
    assert result.stderr == ""
    assert json.loads(result.stdout) == {"greeting": "hello"}


def test_run_failure_names_the_failed_node(tmp_path: Path, plugin: str) -> None:
    result = cli("run", write(tmp_path, FAILING_GRAPH), "--plugin", plugin, "--quiet")
    assert result.exit_code == 1
    assert json.loads(result.stdout) == {}
    summary = result.stderr.strip().splitlines()[-1]
    assert summary.startswith("failed") and "'bad'" in summary and "ValueError: boom" in summary


def test_run_invalid_graph_exits_1(tmp_path: Path) -> None:
    result = cli("run", write(tmp_path, FAILING_GRAPH))  # the plugin is not loaded
    assert result.exit_code == 1
    assert "unknown_function" in result.stderr and "'bad'" in result.stderr
    assert result.stdout == ""


def test_run_input_is_converted_to_its_declared_type(tmp_path: Path, plugin: str) -> None:
    result = cli("run", write(tmp_path, INC_GRAPH), "--plugin", plugin, "--input", "x=5")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {"result": 6}


def test_run_input_json_inline_and_from_file(tmp_path: Path, plugin: str) -> None:
    path = write(tmp_path, INC_GRAPH)
    result = cli("run", path, "-p", plugin, "--input-json", '{"x": 41}', "-q")
    assert json.loads(result.stdout) == {"result": 42}
    inputs = tmp_path / "inputs.json"
    inputs.write_text('{"x": 1}')
    result = cli("run", path, "-p", plugin, "--input-json", f"@{inputs}", "-q")
    assert json.loads(result.stdout) == {"result": 2}
    result = cli("run", path, "-p", plugin, "--input-json", '{"x": 1}', "-i", "x=9", "-q")
    assert json.loads(result.stdout) == {"result": 10}, "--input wins over --input-json"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--input", "x"], "--input 'x': expected name=value"),
        (["--input", "=5"], "expected name=value"),
        (["--input", "x=abc"], "input 'x' must be integer"),
        (["--input", "x=2.5"], "input 'x' must be integer"),
        (["--input", "x=1", "--input", "y=2"], "unknown input(s): y"),
        ([], "missing required input 'x'"),
        (["--input-json", "[1]"], "--input-json must be a JSON object"),
        (["--input-json", "{nope"], "--input-json is not valid JSON"),
        (["--input-json", "@/no/such/inputs.json"], "No such file or directory"),
    ],
)
def test_run_bad_inputs_exit_2(tmp_path: Path, plugin: str, args: list[str], message: str) -> None:
    result = cli("run", write(tmp_path, INC_GRAPH), "--plugin", plugin, *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr


EXAMPLE_GRAPH = graph(
    node("in", "input", name="x", type="integer", example=41),
    node("label", "input", name="label", type="string", required=False, default="plain", example="shown"),
    node("extra", "input", name="extra", type="string", required=False, default="kept"),
    node("inc", "function", function="clitest.inc"),
    node("out", "output", name="result"),
    node("label_out", "output", name="label"),
    node("extra_out", "output", name="extra"),
    edge("in", "inc"),
    edge("inc", "out"),
    edge("label", "label_out"),
    edge("extra", "extra_out"),
)


def test_run_example_fills_every_input_not_given(tmp_path: Path, plugin: str) -> None:
    path = write(tmp_path, EXAMPLE_GRAPH)
    result = cli("run", path, "-p", plugin, "--example", "-q")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {"result": 42, "label": "shown", "extra": "kept"}, "no example: the default"
    result = cli("run", path, "-p", plugin, "--example", "-i", "x=1", "--input-json", '{"label": "mine"}', "-q")
    assert json.loads(result.stdout) == {"result": 2, "label": "mine", "extra": "kept"}, "given inputs win"
    result = cli("run", path, "-p", plugin, "-q")
    assert result.exit_code == 2, "without --example, an example is never used"
    assert "missing required input 'x'" in result.stderr


def test_run_example_without_one_for_a_required_input_is_a_clear_error(tmp_path: Path, plugin: str) -> None:
    result = cli("run", write(tmp_path, INC_GRAPH), "-p", plugin, "--example")
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "error: --example: required input 'x' has no example; give --input x=VALUE"]
    assert cli("run", write(tmp_path, INC_GRAPH), "-p", plugin, "--example", "-i", "x=1", "-q").exit_code == 0


def test_an_example_of_the_wrong_type_is_a_validation_problem(tmp_path: Path, plugin: str) -> None:
    data = graph(node("in", "input", name="x", type="integer", example="forty"),
                 node("out", "output", name="result"), edge("in", "out"))
    for command in (("validate",), ("run", "--example")):
        result = cli(command[0], write(tmp_path, data), *command[1:])
        assert result.exit_code == 1
        assert "[invalid_config]" in result.stderr and "config.example: 'forty' is not of type 'integer'" in \
            result.stderr


SAMPLES_DIR = Path(__file__).resolve().parents[2] / "sample_graphs"


@pytest.mark.parametrize("name", ["sequential_chain", "parallel_enrichment", "decision_tree", "email_triage",
                                  "resilience_demo"])
def test_every_sample_runs_with_its_example(name: str) -> None:
    """``graphflow run SAMPLE --example --no-store`` (the engine alone) succeeds and prints its outputs."""
    result = cli("run", str(SAMPLES_DIR / f"{name}.json"), "--example", "-q", "--no-store")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)


def test_run_events_jsonl(tmp_path: Path, plugin: str) -> None:
    events_file = tmp_path / "events.jsonl"
    result = cli("run", write(tmp_path, INC_GRAPH), "-p", plugin, "-i", "x=1", "--events-jsonl", str(events_file), "-q")
    assert result.exit_code == 0
    events = [event_from_json(line) for line in events_file.read_text().splitlines()]
    assert events[0].kind == "run_started" and events[0].inputs == {"x": 1}
    assert events[-1].kind == "run_finished" and events[-1].outputs == {"result": 2}
    assert [e.seq for e in events] == list(range(len(events)))
    assert len({e.run_id for e in events}) == 1
    assert {e.node_id for e in events if e.kind == "node_succeeded"} == {"in", "inc", "out"}


def test_run_events_jsonl_on_failure(tmp_path: Path, plugin: str) -> None:
    events_file = tmp_path / "events.jsonl"
    cli("run", write(tmp_path, FAILING_GRAPH), "-p", plugin, "--events-jsonl", str(events_file), "-q")
    events = [event_from_json(line) for line in events_file.read_text().splitlines()]
    assert events[-1].kind == "run_finished" and events[-1].status == "failed"
    assert events[-1].failed_node == "bad"
    assert any(e.kind == "node_failed" and e.node_id == "bad" and e.error_type == "ValueError" for e in events)


def test_run_events_jsonl_unwritable(tmp_path: Path) -> None:
    result = cli("run", write(tmp_path, CONST_GRAPH), "--events-jsonl", str(tmp_path / "no" / "dir" / "e.jsonl"))
    assert result.exit_code == 2
    assert "No such file or directory" in result.stderr


def test_run_max_concurrency_must_be_positive(tmp_path: Path) -> None:
    result = cli("run", write(tmp_path, CONST_GRAPH), "--max-concurrency", "0")
    assert result.exit_code == 2


# kinds, functions, version ----------------------------------------------------------


def test_kinds_lists_builtins() -> None:
    result = cli("kinds")
    assert result.exit_code == 0
    rows = {line.split()[0]: line for line in result.stdout.splitlines()[1:]}
    assert {"input", "output", "constant", "template", "condition", "router", "join", "function", "delay"} <= set(rows)
    assert "in:any*" in rows["join"] and "out:object" in rows["join"]
    described = json.loads(cli("kinds", "--json").stdout)
    assert {"kind", "title", "inputs", "outputs"} <= set(described[0])


def test_functions_lists_plugin_functions(plugin: str) -> None:
    result = cli("functions", "--plugin", plugin)
    assert result.exit_code == 0
    line = next(line for line in result.stdout.splitlines() if line.startswith("clitest.boom"))
    assert "sync" in line and "always fails" in line
    entries = {e["name"]: e for e in json.loads(cli("functions", "-p", plugin, "--json").stdout)}
    assert entries["clitest.stuck"]["blocking"] is True


def test_version_and_help() -> None:
    assert cli("--version").stdout.startswith("graphflow ")
    result = cli("--help")
    assert result.exit_code == 0
    for command in ("validate", "run", "kinds", "functions"):
        assert command in result.stdout


# as a real process ------------------------------------------------------------------


def spawn(*args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "graphflow", *args], cwd=cwd, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.mark.slow
def test_process_stdout_is_pipeable_json(tmp_path: Path, plugin: str) -> None:
    proc = spawn("run", write(tmp_path, INC_GRAPH), "-p", plugin, "-i", "x=2", "--progress", "lines", cwd=tmp_path)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert json.loads(out) == {"result": 3}
    assert "inc" in err


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT is POSIX")
@pytest.mark.parametrize("stuck", [False, True], ids=["cancel", "stuck-thread"])
def test_ctrl_c_cancels_the_run_and_exits_130(tmp_path: Path, plugin: str, stuck: bool) -> None:
    """Ctrl+C cancels through RunControl; a node stuck in a thread is abandoned, so one is enough
    there too, and the stuck (daemon) thread does not keep the process alive."""
    slow = node("slow", "function", function="clitest.stuck") if stuck else node("slow", "delay", seconds=30)
    path = write(tmp_path, graph(slow, node("out", "output", name="r"), edge("slow", "out")))
    events_file = tmp_path / "events.jsonl"
    proc = spawn("run", path, "-p", plugin, "--progress", "lines", "--events-jsonl", str(events_file), cwd=tmp_path)
    try:
        assert proc.stderr is not None
        seen = []
        for line in proc.stderr:
            seen.append(line)
            if "slow" in line and "started" in line:
                break
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
        proc.wait()
    err = "".join(seen) + err
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    events = [event_from_json(line) for line in events_file.read_text().splitlines()]
    assert any(e.kind == "node_cancelled" and e.node_id == "slow" for e in events)
    assert "interrupted" in err and json.loads(out) == {}
    assert events[-1].kind == "run_cancelled"
    assert err.strip().splitlines()[-1].startswith("cancelled")
