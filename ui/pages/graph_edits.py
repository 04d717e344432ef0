"""Edits the editor makes to the whole graph dict (pure functions, tested without a page)."""

from __future__ import annotations

import re
from typing import Any

from graphflow.model import ID_PATTERN


def node_id_problem(graph: dict[str, Any], old: str, new: str) -> str | None:
    """Why ``new`` cannot be ``old``'s id, or None."""
    if not re.fullmatch(ID_PATTERN, new):
        return (f"id {new!r}: start with a letter or _, then letters, digits, _ . or - "
                "(at most 128 characters)")
    if new != old and any(n.get("id") == new for n in graph.get("nodes", ())):
        return f"id {new!r} is taken by another node"
    return None


def rename_node(graph: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    """The graph with node ``old`` called ``new``; its edges follow (nothing else is touched)."""
    def node(n: dict[str, Any]) -> dict[str, Any]:
        return {**n, "id": new} if n.get("id") == old else n

    def edge(e: dict[str, Any]) -> dict[str, Any]:
        moved = {k: new for k in ("source", "target") if e.get(k) == old}
        return {**e, **moved} if moved else e

    return {**graph, "nodes": [node(n) for n in graph.get("nodes", ())],
            "edges": [edge(e) for e in graph.get("edges", ())]}


def with_details(graph: dict[str, Any], name: str, description: str) -> dict[str, Any]:
    """The graph's own name and description (left out when empty, as a saved graph has them)."""
    rest = {k: v for k, v in graph.items() if k not in ("name", "description")}
    return {**rest, **({"name": name} if name else {}), **({"description": description} if description else {})}
