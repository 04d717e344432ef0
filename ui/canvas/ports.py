"""Ports that depend on a node's config (a router's routes, an input's type), resolved in Python.

The canvas draws a node's handles from its kind's static ports unless it is given these,
so the kinds' own ``ports_in`` (a function node's from its function's signature) stays the one
definition.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from graphflow.model import GraphSpec
from graphflow.registry import Registry

PortsMap = dict[str, dict[str, list[dict[str, Any]]]]


def node_ports(kind_name: str, config: Mapping[str, Any], registry: Registry) -> dict[str, list[dict[str, Any]]] | None:
    """``{"inputs": [...], "outputs": [...]}`` for one node, or None when the kind is unknown."""
    kind = registry.kinds.get(kind_name)
    if kind is None:
        return None
    try:
        parsed = kind.parse_config(config)
    except ValidationError:  # an unfinished config: the kind's static ports, the validator reports the rest
        inputs, outputs = kind.inputs, kind.outputs
    else:
        inputs, outputs = kind.ports_in(parsed, registry)
    return {"inputs": [p.model_dump() for p in inputs], "outputs": [p.model_dump() for p in outputs]}


def ports_for(spec: Mapping[str, Any] | GraphSpec, registry: Registry) -> PortsMap:
    """``{node_id: {"inputs": [...], "outputs": [...]}}`` for every node of a known kind."""
    graph = spec.model_dump(mode="json") if isinstance(spec, GraphSpec) else spec
    result: PortsMap = {}
    for node in graph.get("nodes", ()):
        ports = node_ports(node.get("kind", ""), node.get("config") or {}, registry)
        if ports is not None:
            result[node["id"]] = ports
    return result
