"""What changed between two versions of a graph: node by node, and within a node setting by
setting (``config.model``, ``retry.max_attempts``, ``position``), edges by id, and the graph's
own fields. Pure data in, pure data out; the history page renders it.

A nested object is compared key by key (so one changed config key is one change); a list is
one value. A node whose id changed is a removal and an addition: ids are what edges name.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from graphflow.model import EdgeSpec, GraphSpec, NodeSpec


class _Absent:
    """A setting one side does not have (distinct from a null value)."""

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Any = _Absent()
"""Also what a setting left at its default is: defaults are not written out."""
WHOLE = frozenset({"position"})
"""Objects compared as one value: a move is one change, not one per coordinate."""


@dataclass(frozen=True, slots=True)
class Change:
    path: str
    """Dotted: ``name``, ``config.prompt``, ``retry.max_attempts``."""
    before: Any
    after: Any
    """JSON values, or ``ABSENT``."""


@dataclass(frozen=True, slots=True)
class ItemDiff:
    """One node or edge that was added, removed or changed."""

    id: str
    status: Literal["added", "removed", "changed"]
    title: str
    """A node's kind; an edge's ``source.port -> target.port``."""
    changes: tuple[Change, ...] = ()
    """For ``changed``: each setting that differs (for added/removed: every setting it has)."""


@dataclass(frozen=True, slots=True)
class GraphDiff:
    graph: tuple[Change, ...]
    nodes: tuple[ItemDiff, ...]
    edges: tuple[ItemDiff, ...]

    @property
    def empty(self) -> bool:
        return not (self.graph or self.nodes or self.edges)

    def count(self, status: str) -> int:
        return sum(item.status == status for item in self.nodes)


def diff_graphs(before: GraphSpec, after: GraphSpec) -> GraphDiff:
    """``before`` -> ``after``, nodes and edges in ``after``'s order (removed ones last)."""
    skip = {"nodes", "edges", "schema_version", "id"}
    graph = tuple(changes(_dump(before, skip), _dump(after, skip)))
    return GraphDiff(graph, tuple(_items(before.nodes, after.nodes, _node_title)),
                     tuple(_items(before.edges, after.edges, _edge_title)))


def changes(before: Mapping[str, Any], after: Mapping[str, Any], prefix: str = "") -> Iterator[Change]:
    """Each key whose value differs; objects on both sides are compared key by key."""
    for key in [*before, *(k for k in after if k not in before)]:
        old, new = before.get(key, ABSENT), after.get(key, ABSENT)
        if old == new and type(old) is type(new):
            continue
        whole = not prefix and key in WHOLE
        if not whole and isinstance(old, dict | _Absent) and isinstance(new, dict | _Absent):  # an object, once
            yield from changes(_object(old), _object(new), f"{prefix}{key}.")
        else:
            yield Change(prefix + key, old, new)


def _object(value: Any) -> dict[str, Any]:
    return {} if value is ABSENT else value


def _items(before: tuple[Any, ...], after: tuple[Any, ...], title: Any) -> Iterator[ItemDiff]:
    old = {item.id: item for item in before}
    new_ids = {item.id for item in after}
    for item in after:
        previous = old.get(item.id)
        if previous is None:
            yield ItemDiff(item.id, "added", title(item), tuple(changes({}, _dump(item, {"id"}))))
        elif previous != item:
            found = tuple(changes(_dump(previous, {"id"}), _dump(item, {"id"})))
            yield ItemDiff(item.id, "changed", title(item), found)
    for item in before:
        if item.id not in new_ids:
            yield ItemDiff(item.id, "removed", title(item), tuple(changes(_dump(item, {"id"}), {})))


def _dump(model: NodeSpec | EdgeSpec | GraphSpec, skip: set[str]) -> dict[str, Any]:
    """Its JSON fields; defaults left out, so a setting written at its default is no change."""
    return model.model_dump(mode="json", exclude=skip, exclude_defaults=True)


def _node_title(node: NodeSpec) -> str:
    return node.kind


def _edge_title(edge: EdgeSpec) -> str:
    return f"{edge.source}.{edge.source_port} -> {edge.target}.{edge.target_port}"
