"""The graph spec: the JSON format and the source of truth for a graph.

Everything here is frozen data with ``extra="forbid"``: an unknown field in a graph
file is an error, not something silently dropped. networkx views are derived from
these models in ``compile.py``; they are never stored.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from graphflow.policies import BreakerPolicy, CachePolicy, RetryPolicy

SCHEMA_VERSION = 1
ID_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.\-]{0,127}$"

PortType = Literal["any", "string", "number", "integer", "boolean", "object", "array"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class Position(_Frozen):
    """Where the canvas draws a node; the engine ignores it."""

    x: float = 0.0
    y: float = 0.0


class PortSpec(_Frozen):
    """A typed input or output of a node kind."""

    name: str
    type: PortType = "any"
    required: bool = True
    """An input that must receive a value for the node to run (ignored for outputs)."""
    multi: bool = False
    """An input that accepts several edges (only joins have one)."""
    description: str = ""
    json_schema: dict[str, Any] | None = None
    """An object port's JSON schema (a function's pydantic model or TypedDict): shown on the
    port, and compared field by field when two such ports are wired."""


class NodeSpec(_Frozen):
    id: str = Field(pattern=ID_PATTERN)
    kind: str
    label: str = ""
    """Shown on the card instead of the id."""
    description: str = Field(default="", json_schema_extra={"format": "multiline"})
    """Notes about the node, for the people who read the graph."""
    config: dict[str, Any] = Field(default_factory=dict)
    """Options of the node kind, checked against the kind's config model."""
    timeout: float | None = Field(default=None, gt=0, le=24 * 3600)
    """Seconds one attempt may take before it fails with a timeout."""
    retry: RetryPolicy | None = None
    """Attempts, backoff with jitter, which errors are retried."""
    breaker: BreakerPolicy | None = None
    """The circuit breaker of the resource this node calls, shared by name."""
    cache: CachePolicy | None = None
    """Reuse outputs for the same kind, config and inputs within a TTL."""
    optional: bool = False
    """When it fails for good, the run goes on with ``default_output`` (graceful degradation)."""
    default_output: Any = None
    """Sent on port ``out`` when an optional node fails; the run reports it as degraded."""
    disabled: bool = False
    """Switched off (the canvas' right-click menu): the node is skipped without running, and what
    depends only on it is skipped as an untaken branch would be. Saved with the graph."""
    position: Position = Field(default_factory=Position)
    metadata: dict[str, Any] = Field(default_factory=dict)


ERROR_PORT = "error"
"""Every node has this output: an edge from it receives the node's failure instead of
failing the run, as ``{"error_type", "message", "node_id", "input"}``."""


class EdgeSpec(_Frozen):
    id: str = Field(pattern=ID_PATTERN)
    source: str
    source_port: str = "out"
    target: str
    target_port: str = "in"
    condition: str | None = None
    """Safe expression over the port's ``value``; the edge is taken only when it is true."""
    metadata: dict[str, Any] = Field(default_factory=dict)


NOTE_CHARS = 10_000


class NoteSpec(_Frozen):
    """A sticky note on the canvas: text for the people who read the graph; runs ignore it."""

    id: str = Field(pattern=ID_PATTERN)
    text: str = Field(default="", max_length=NOTE_CHARS)
    position: Position = Field(default_factory=Position)


class GroupSpec(_Frozen):
    """A labelled frame on the canvas around related nodes (dragging it moves what lies inside); runs ignore it."""

    id: str = Field(pattern=ID_PATTERN)
    label: str = Field(default="", max_length=200)
    position: Position = Field(default_factory=Position)
    width: float = Field(default=300, gt=0, le=100_000)
    height: float = Field(default=200, gt=0, le=100_000)


class GraphSpec(_Frozen):
    schema_version: Literal[1]
    id: str = Field(pattern=ID_PATTERN)
    name: str = ""
    description: str = ""
    nodes: tuple[NodeSpec, ...] = ()
    edges: tuple[EdgeSpec, ...] = ()
    notes: tuple[NoteSpec, ...] = ()
    """Sticky notes (ids of their own, apart from the nodes')."""
    groups: tuple[GroupSpec, ...] = ()
    """Frames around nodes (ids of their own, apart from the nodes' and the notes')."""
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("notes", "groups")
    @classmethod
    def _distinct_ids(cls, items: tuple[NoteSpec | GroupSpec, ...]) -> tuple[NoteSpec | GroupSpec, ...]:
        seen: set[str] = set()
        for item in items:
            if item.id in seen:
                what = "note" if isinstance(item, NoteSpec) else "group"
                raise ValueError(f"{what} id {item.id!r} is used twice")
            seen.add(item.id)
        return items

    def node(self, node_id: str) -> NodeSpec:
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise KeyError(f"no node {node_id!r} in graph {self.id!r}")

    def to_json(self, *, indent: int | None = 2) -> str:
        return self.model_dump_json(indent=indent)
