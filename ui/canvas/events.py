"""Typed events the canvas sends to Python, and the status shape Python sends to the canvas."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

from nicegui.events import UiEventArguments

from graphflow.describe import steps_lines
from graphflow.events import NodeStatus
from graphflow.state import NodeRecord, RunState

BreakerState = Literal["closed", "open", "half_open"]


class NodeView(TypedDict, total=False):
    """What a node shows while a run goes on (``set_node_status``/``set_statuses``)."""

    status: NodeStatus
    degraded: bool
    """An optional node that failed and went on with its default output (``status`` stays "succeeded"):
    the card shows a "degraded" badge and the error."""
    attempts: int
    error: str | None
    breaker: BreakerState | None
    progress: tuple[int, int, int] | list[int] | None
    """Map nodes: ``(done, failed, total)``."""
    duration: float | None
    steps: list[str]
    """Agent nodes: one line per step and per tool call (``describe.steps_lines``), shown as text."""
    tokens: int
    cost: float
    text: str | None
    """A model node's reply: the text so far while it streams, then the final text (its tail)."""


TEXT_CHARS = 240
"""The tail of a reply a card shows (the run panel has the whole output)."""


def text_tail(text: str) -> str:
    return text if len(text) <= TEXT_CHARS else "…" + text[-TEXT_CHARS:]


class NodeHeat(TypedDict, total=False):
    """Run statistics of one node, drawn as an overlay (``set_heat``)."""

    p50: float | None
    p95: float | None
    success_rate: float | None
    cost_per_1k: float | None
    tokens_per_run: float | None
    heat: float
    """0 (cool) .. 1 (hot): the colour of the node's left edge."""


def node_status(record: NodeRecord, *, breaker: BreakerState | None = None) -> NodeView:
    """The canvas view of a node's run state (``RunState.nodes[node_id]``); ``degraded`` only when it is."""
    status = NodeView(
        status=record.status,
        attempts=record.attempts,
        error=record.error,
        breaker=breaker,
        progress=list(record.progress) if record.progress else None,
        duration=record.duration,
    )
    if record.tokens or record.cost:
        status["tokens"], status["cost"] = record.tokens, record.cost
    text = record.output.get("text") if record.output else None
    if isinstance(text, str):
        status["text"] = text_tail(text)
    if record.degraded:
        status["degraded"] = True
    if record.steps:
        status["steps"] = steps_lines(record)
    return status


def node_views(state: RunState, breaker_of: Mapping[str, str], known: Mapping[str, str] | None = None,
               only: Iterable[str] | None = None) -> dict[str, NodeView]:
    """The canvas view of the nodes in ``state`` (or of ``only`` those); ``breaker_of``: breaker
    name by node id, ``known``: breaker states known from outside the events seen so far."""
    views = {}
    for node_id in state.nodes if only is None else only:
        name = breaker_of.get(node_id)
        breaker = state.breaker_state(name, dict(known or {})) if name else None
        views[node_id] = node_status(state.nodes.get(node_id) or NodeRecord(), breaker=breaker)  # type: ignore[arg-type]
    return views


@dataclass(kw_only=True, slots=True)
class GraphChangeEvent(UiEventArguments):
    graph: dict[str, Any]
    """The whole graph (a GraphSpec JSON dict, positions included) after the edit."""
    reason: str
    """add | remove | move | connect | disconnect | edit | layout | undo | redo"""


@dataclass(kw_only=True, slots=True)
class SelectEvent(UiEventArguments):
    node_id: str | None
    """The selected node when exactly one is selected, else None."""
    node_ids: list[str] = field(default_factory=list)


@dataclass(kw_only=True, slots=True)
class ConnectRefusedEvent(UiEventArguments):
    reason: str
    source: str | None = None
    source_port: str | None = None
    target: str | None = None
    target_port: str | None = None


@dataclass(kw_only=True, slots=True)
class SaveEvent(UiEventArguments):
    graph: dict[str, Any]


@dataclass(kw_only=True, slots=True)
class RunEvent(UiEventArguments):
    pass
