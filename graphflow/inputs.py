"""Checking run inputs against the graph's input nodes, and reading them from text."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from graphflow.errors import RunInputError

if TYPE_CHECKING:
    from graphflow.compile import CompiledGraph

def is_of_type(value: Any, type_name: str) -> bool:
    """Whether ``value`` (JSON data) is of a port type (``any`` takes everything)."""
    check = _CHECKS.get(type_name)
    return check is None or check(value)


_CHECKS = {
    "string": lambda v: isinstance(v, str),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
}


def check_run_inputs(graph: CompiledGraph, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Every required input given, none unknown, each of its declared type."""
    declared = {n.config.name: n.config for n in graph.input_nodes()}
    problems = []
    unknown = sorted(set(inputs) - set(declared))
    if unknown:
        takes = ", ".join(sorted(declared)) or "none"
        problems.append(f"unknown input(s): {', '.join(unknown)} (graph takes: {takes})")
    for name, cfg in declared.items():
        if name not in inputs:
            if cfg.is_required:
                problems.append(f"missing required input {name!r}")
            continue
        check = _CHECKS.get(cfg.type)
        if check is not None and not check(inputs[name]):
            problems.append(f"input {name!r} must be {cfg.type}, got {type(inputs[name]).__name__}: {inputs[name]!r}")
    if problems:
        raise RunInputError("; ".join(problems))
    return dict(inputs)


def parse_input_text(graph: CompiledGraph, name: str, text: str) -> Any:
    """Turn ``--input name=text`` into a value of the input's declared type."""
    declared = {n.config.name: n.config.type for n in graph.input_nodes()}
    kind = declared.get(name, "any")
    if kind == "string":
        return text
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        if kind in ("any",):
            return text
        raise RunInputError(f"input {name!r} must be {kind}, and {text!r} is not a JSON {kind}") from None
