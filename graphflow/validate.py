"""Checks on a raw graph file before a spec (let alone a networkx graph) exists.

networkx would silently invent the missing end of a dangling edge and merge duplicate
node ids, so those checks run here on plain JSON data. Nothing in the file is ever
executed or imported. ``compile.py`` continues with the checks that need the registry.

Stable problem codes (one test fixture each):
not_json, too_large, too_deep, not_object, bad_schema_version, too_many_nodes,
too_many_edges, unknown_field, invalid_value, duplicate_node_id, duplicate_edge_id,
dangling_edge, self_loop, cycle, unknown_kind, invalid_config, unknown_function,
unknown_port, port_type_mismatch, port_already_connected, missing_required_input,
bad_expression, bad_join, bad_state_machine, bad_template.
"""

from __future__ import annotations

import json
import math
import sys
from typing import Any

from pydantic import ValidationError

from graphflow.errors import GraphValidationError, Problem
from graphflow.model import SCHEMA_VERSION, GraphSpec

MAX_BYTES = 5 * 1024 * 1024
MAX_DEPTH = 64
MAX_NODES = 5_000
MAX_EDGES = 20_000


def parse_graph_json(text: str | bytes) -> dict[str, Any]:
    """Size, JSON syntax and nesting checks; returns the decoded object."""
    size = len(text.encode() if isinstance(text, str) else text)
    if size > MAX_BYTES:
        raise GraphValidationError([Problem("too_large", f"file is {size:,} bytes; the limit is {MAX_BYTES:,}")])
    try:
        data = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        raise GraphValidationError(
            [Problem("not_json", f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")]
        ) from None
    except UnicodeDecodeError as exc:
        raise GraphValidationError([Problem("not_json", f"not UTF-8 text: {exc.reason}")]) from None
    except NonFinite as exc:
        raise GraphValidationError([Problem("invalid_value", str(exc))]) from None
    except ValueError as exc:  # an integer past Python's 4,300-digit conversion limit
        digits = "".join(c for c in str(exc).split("value has")[-1] if c.isdigit())
        raise GraphValidationError([Problem(
            "invalid_value", f"an integer of {int(digits or 0):,} digits; the limit is {sys.get_int_max_str_digits():,}"
        )]) from None
    except RecursionError:
        raise GraphValidationError([Problem("too_deep", f"nested deeper than {MAX_DEPTH} levels")]) from None
    check_depth(data)
    if not isinstance(data, dict):
        raise GraphValidationError([Problem("not_object", f"a graph is a JSON object, not {type(data).__name__}")])
    return data


class NonFinite(ValueError):
    pass


def _refuse_constant(name: str) -> Any:
    raise NonFinite(f"{name} is not allowed in a graph (JSON has no NaN or Infinity; use null or a string)")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999 parses as inf
        raise NonFinite(f"the number {text[:40]} is out of range (it would be Infinity)")
    return value


def check_depth(data: Any) -> None:
    """Nesting depth, and no NaN/Infinity (a dict given to the API may hold them)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise GraphValidationError([Problem("too_deep", f"nested deeper than {MAX_DEPTH} levels")])
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)
        elif isinstance(value, float) and not math.isfinite(value):
            raise GraphValidationError([Problem("invalid_value", f"{value} is not allowed in a graph "
                                                "(JSON has no NaN or Infinity; use null or a string)")])


def spec_from_data(data: dict[str, Any]) -> GraphSpec:
    """Structural checks on decoded JSON, then the pydantic spec."""
    check_depth(data)
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise GraphValidationError(
            [
                Problem(
                    "bad_schema_version",
                    f"schema_version {version!r} is not supported (this graphflow reads version {SCHEMA_VERSION})",
                    path="schema_version",
                )
            ]
        )
    nodes, edges = data.get("nodes", []), data.get("edges", [])
    problems: list[Problem] = []
    if isinstance(nodes, list) and len(nodes) > MAX_NODES:
        problems.append(Problem("too_many_nodes", f"{len(nodes):,} nodes; the limit is {MAX_NODES:,}"))
    if isinstance(edges, list) and len(edges) > MAX_EDGES:
        problems.append(Problem("too_many_edges", f"{len(edges):,} edges; the limit is {MAX_EDGES:,}"))
    if problems:
        raise GraphValidationError(problems)
    try:
        spec = GraphSpec.model_validate(data)
    except ValidationError as exc:
        raise GraphValidationError([_problem_from_pydantic(err, data) for err in exc.errors()]) from None
    check_references(spec)
    return spec


def _problem_from_pydantic(err: Any, data: dict[str, Any]) -> Problem:
    loc: tuple[Any, ...] = tuple(err["loc"])
    path = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in loc).replace(".[", "[")
    node_id = edge_id = None
    if len(loc) >= 2 and loc[0] in ("nodes", "edges") and isinstance(loc[1], int):
        items = data.get(loc[0])
        item = items[loc[1]] if isinstance(items, list) and loc[1] < len(items) else None
        ident = item.get("id") if isinstance(item, dict) and isinstance(item.get("id"), str) else None
        if loc[0] == "nodes":
            node_id = ident
        else:
            edge_id = ident
    if err["type"] == "extra_forbidden" and loc:
        return Problem("unknown_field", f"unknown field {loc[-1]!r} at {path}", node_id, edge_id, path)
    return Problem("invalid_value", f"{path}: {err['msg']}", node_id, edge_id, path)


def check_references(spec: GraphSpec) -> None:
    """Duplicate ids, dangling edges and self-loops: problems networkx would hide."""
    problems: list[Problem] = []
    node_ids: set[str] = set()
    for node in spec.nodes:
        if node.id in node_ids:
            problems.append(Problem("duplicate_node_id", "node id is used more than once", node_id=node.id))
        node_ids.add(node.id)
    edge_ids: set[str] = set()
    for edge in spec.edges:
        if edge.id in edge_ids:
            problems.append(Problem("duplicate_edge_id", "edge id is used more than once", edge_id=edge.id))
        edge_ids.add(edge.id)
        for end in ("source", "target"):
            if getattr(edge, end) not in node_ids:
                problems.append(
                    Problem("dangling_edge", f"{end} node {getattr(edge, end)!r} does not exist", edge_id=edge.id)
                )
        if edge.source == edge.target:
            problems.append(
                Problem("self_loop", f"edge connects node {edge.source!r} to itself", edge.source, edge.id)
            )
    if problems:
        raise GraphValidationError(problems)
