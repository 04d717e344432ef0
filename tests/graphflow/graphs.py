"""Small helpers to write test graphs as dict literals."""

from __future__ import annotations

from typing import Any


def node(node_id: str, kind: str, **config: Any) -> dict[str, Any]:
    extra = config.pop("_node", {})
    return {"id": node_id, "kind": kind, "config": config, **extra}


def edge(source: str, target: str, source_port: str = "out", target_port: str = "in", **extra: Any) -> dict[str, Any]:
    ident = extra.pop("id", f"{source}.{source_port}-{target}.{target_port}")
    return {"id": ident, "source": source, "source_port": source_port, "target": target,
            "target_port": target_port, **extra}


def graph(*items: dict[str, Any], graph_id: str = "g") -> dict[str, Any]:
    nodes = [i for i in items if "kind" in i]
    edges = [i for i in items if "source" in i]
    return {"schema_version": 1, "id": graph_id, "nodes": nodes, "edges": edges}


def fn(node_id: str, function: str, **args: Any) -> dict[str, Any]:
    return node(node_id, "function", function=function, **({"args": args} if args else {}))
