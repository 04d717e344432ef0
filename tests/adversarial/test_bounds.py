"""Bounds on hostile graphs and outputs: retry settings, output size, NaN/Infinity, huge integers."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import graphflow
from graphflow import outputs
from graphflow.errors import GraphValidationError
from graphflow.ui.cli import app as full_app


def node(node_id: str, kind: str, **config: Any) -> dict[str, Any]:
    extra = config.pop("_node", {})
    return {"id": node_id, "kind": kind, "config": config, **extra}


def edge(source: str, target: str) -> dict[str, Any]:
    return {"id": f"{source}-{target}", "source": source, "target": target}


def graph(*items: dict[str, Any]) -> dict[str, Any]:
    return {"schema_version": 1, "id": "bounds", "nodes": [i for i in items if "kind" in i],
            "edges": [i for i in items if "source" in i]}


@pytest.fixture
def registry() -> graphflow.Registry:
    reg = graphflow.default_registry(installed=False)
    reg.register_function("echo", lambda v: v, non_blocking=True)
    reg.register_function("big", lambda v: "x" * v, non_blocking=True)
    reg.register_function("nan", lambda v: {"score": [1.0, float(v)]}, non_blocking=True)
    return reg


# retry settings ---------------------------------------------------------------------------


@pytest.mark.parametrize(("retry", "words"), [
    ({"max_attempts": 10**9, "base_delay": 0}, "less than or equal to 100"),
    ({"max_attempts": 101}, "less than or equal to 100"),
    ({"max_attempts": 50, "base_delay": 0}, "at least 0.1s"),
    ({"max_attempts": 50, "base_delay": 1, "max_delay": 0}, "at least 0.1s"),
    ({"max_attempts": 3, "base_delay": 1e12}, "less than or equal to 86400"),
    ({"attempt_timeout": 1e12}, "less than or equal to 86400"),
])
def test_retry_settings_are_bounded(registry, retry, words):
    spec = graph(node("c", "constant", value=1), node("f", "function", function="echo", _node={"retry": retry}),
                 edge("c", "f"))
    with pytest.raises(GraphValidationError) as caught:
        graphflow.validate_graph(spec, registry)
    (problem,) = caught.value.problems
    assert problem.node_id == "f" and problem.code == "invalid_value" and words in problem.message


def test_many_paced_attempts_are_fine(registry):
    spec = graph(node("f", "function", function="echo",
                      _node={"retry": {"max_attempts": 100, "base_delay": 0.1}}))
    graphflow.validate_graph(spec, registry)


def test_map_item_retry_is_bounded_too(registry):
    spec = graph(node("m", "map", function="echo", item_retry={"max_attempts": 10**9, "base_delay": 0}))
    with pytest.raises(GraphValidationError) as caught:
        graphflow.validate_graph(spec, registry)
    assert caught.value.problems[0].code == "invalid_config"


# output size -----------------------------------------------------------------------------


def run_one(registry, function: str, value: Any) -> Any:
    spec = graph(node("c", "constant", value=value), node("f", "function", function=function),
                 node("o", "output", name="o"), edge("c", "f"), edge("f", "o"))
    return graphflow.run_sync(spec, registry=registry)


def test_output_over_the_cap_fails_the_node_with_a_clear_error(registry):
    result = run_one(registry, "big", outputs.MAX_OUTPUT_BYTES + 1)
    assert result.status == "failed" and result.failed_node == "f"
    failed = next(e for e in result.events if e.kind == "node_failed")
    assert failed.error_type == "OutputTooLarge" and "the limit is 4,194,304" in failed.error_message


def test_output_just_under_the_cap_is_kept(registry):
    result = run_one(registry, "big", outputs.MAX_OUTPUT_BYTES - 100)
    assert result.ok and len(result.outputs["o"]) == outputs.MAX_OUTPUT_BYTES - 100


def test_the_cap_is_configurable(registry, monkeypatch):
    monkeypatch.setattr(outputs, "MAX_OUTPUT_BYTES", 1000)
    assert run_one(registry, "big", 2000).status == "failed"
    assert run_one(registry, "big", 500).ok


def test_many_small_strings_count_towards_the_cap(registry, monkeypatch):
    monkeypatch.setattr(outputs, "MAX_OUTPUT_BYTES", 1000)
    registry.register_function("wide", lambda v: {str(i): "y" * 100 for i in range(50)}, non_blocking=True)
    assert run_one(registry, "wide", None).status == "failed"


# NaN, Infinity and huge integers ------------------------------------------------------------


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_non_finite_output_fails_the_node(registry, value):
    result = run_one(registry, "nan", value)
    failed = next(e for e in result.events if e.kind == "node_failed")
    assert failed.error_type == "NonFiniteOutput" and "NaN" in failed.error_message


def test_non_finite_scalar_output_and_run_input(registry):
    registry.register_function("half", lambda v: float("inf"), non_blocking=True)
    assert next(e for e in run_one(registry, "half", 1).events if e.kind == "node_failed").error_type == \
        "NonFiniteOutput"
    spec = graph(node("x", "input", name="x", type="number"), node("o", "output", name="o"), edge("x", "o"))
    result = graphflow.run_sync(spec, {"x": math.nan}, registry=registry)
    assert result.status == "failed"
    assert "NaN" not in json.dumps(result.outputs)  # nothing non-finite reaches the outputs


def test_huge_integer_output_fails_the_node(registry):
    registry.register_function("huge", lambda v: 10**5000, non_blocking=True)
    failed = next(e for e in run_one(registry, "huge", 1).events if e.kind == "node_failed")
    assert failed.error_type == "NodeOutputError" and "4300" in failed.error_message


HOSTILE_NUMBERS = {
    "nan": '{"schema_version": 1, "id": "g", "nodes": [{"id": "c", "kind": "constant", "config": {"value": NaN}}]}',
    "infinity": '{"schema_version": 1, "id": "g", "nodes": [{"id": "c", "kind": "constant", '
                '"config": {"value": -Infinity}}]}',
    "overflow": '{"schema_version": 1, "id": "g", "nodes": [{"id": "c", "kind": "constant", '
                '"config": {"value": 1e999}}]}',
    "digits": '{"schema_version": 1, "id": "g", "nodes": [{"id": "c", "kind": "constant", '
              '"config": {"value": 1' + "0" * 5000 + '}}]}',
}


@pytest.mark.parametrize("name", HOSTILE_NUMBERS)
def test_graph_files_refuse_hostile_numbers(name):
    with pytest.raises(GraphValidationError) as caught:
        graphflow.load_graph(HOSTILE_NUMBERS[name])
    (problem,) = caught.value.problems
    assert problem.code == "invalid_value"
    assert ("5,001 digits" in problem.message) if name == "digits" else ("Infinity" in problem.message)


def test_a_dict_with_nan_is_refused_too():
    spec = graph(node("c", "constant", value=float("nan")))
    with pytest.raises(GraphValidationError, match="NaN"):
        graphflow.load_graph(spec)


@pytest.mark.parametrize("name", HOSTILE_NUMBERS)
@pytest.mark.parametrize("command", ["validate", "import"])
def test_validate_and_import_print_one_line(tmp_path: Path, name: str, command: str):
    path = tmp_path / "g.json"
    path.write_text(HOSTILE_NUMBERS[name])
    args = [command, str(path)] + (["--db", str(tmp_path / "x.db")] if command == "import" else [])
    result = CliRunner().invoke(full_app, args)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and result.exception is None or isinstance(result.exception, SystemExit)
    assert "invalid_value" in result.stderr and len(result.stderr.strip().splitlines()) <= 2


@pytest.mark.parametrize("text", ['{"x": NaN}', '{"x": 1' + "0" * 5000 + "}"])
def test_run_input_json_refuses_hostile_numbers(tmp_path: Path, text: str):
    path = tmp_path / "g.json"
    path.write_text(json.dumps(graph(node("x", "input", name="x", type="number"))))
    result = CliRunner().invoke(full_app, ["run", str(path), "--no-store", "--input-json", text])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "--input-json" in result.stderr
