"""Typed events the canvas sends to Python, and the status shape Python sends to the canvas."""

from __future__ import annotations

import json
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
    reused: str
    """Its output was reused from this earlier run (not run again): the card says "reused"."""
    output: str
    """After it succeeded: its output as text (``output_text``); the card shows the first lines, a click all of it."""
    elapsed: float
    """While it runs, seconds since its attempt started when this view was made (live only): the card's timer
    counts on from there in the browser, so the two machines' clocks need not agree."""
    machine: MachineView
    """State machine nodes: the current state, and the events valid now (buttons when the page can send)."""


class MachineView(TypedDict):
    state: str
    accepts: list[str]


TEXT_CHARS = 240
"""The tail of a reply a card shows (the run panel has the whole output)."""


def text_tail(text: str) -> str:
    return text if len(text) <= TEXT_CHARS else "…" + text[-TEXT_CHARS:]


OUTPUT_CHARS = 100_000
"""The most of a node's output a card holds (its whole value, unless it is larger)."""


def output_text(output: Mapping[str, Any]) -> str:
    """A node's output as the card shows it: the value alone when the node has one port ``out``, else
    the ports' values by name; strings as they are, anything else as indented JSON; cut past ``OUTPUT_CHARS``."""
    value: Any = output["out"] if set(output) == {"out"} else dict(output)
    text = value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False, default=str)
    if len(text) > OUTPUT_CHARS:
        text = f"{text[:OUTPUT_CHARS]}\n… cut: {len(text):,} characters in all"
    return text


class NodeHeat(TypedDict, total=False):
    """Run statistics of one node, drawn as an overlay (``set_heat``)."""

    p50: float | None
    p95: float | None
    success_rate: float | None
    cost_per_1k: float | None
    tokens_per_run: float | None
    heat: float
    """0 (cool) .. 1 (hot): the colour of the node's left edge."""


def node_status(record: NodeRecord, *, breaker: BreakerState | None = None, now: float | None = None) -> NodeView:
    """The canvas view of a node's run state (``RunState.nodes[node_id]``); ``degraded`` only when it is.
    ``now`` (wall clock, live views only): a running node gets ``elapsed``."""
    status = NodeView(
        status=record.status,
        attempts=record.attempts,
        error=record.error,
        breaker=breaker,
        progress=list(record.progress) if record.progress else None,
        duration=None if record.reused_from else record.duration,  # a reused output took no time here
    )
    if record.tokens or record.cost:
        status["tokens"], status["cost"] = record.tokens, record.cost
    text = record.output.get("text") if record.output else None
    if isinstance(text, str):
        status["text"] = text_tail(text)
    if record.output and record.status == NodeStatus.SUCCEEDED:
        status["output"] = output_text(record.output)
    if now is not None and record.status == NodeStatus.RUNNING and record.started_at is not None:
        status["elapsed"] = max(0.0, now - record.started_at)
    if record.degraded:
        status["degraded"] = True
    if record.reused_from:
        status["reused"] = record.reused_from
    if record.steps:
        status["steps"] = steps_lines(record)
    if record.machine_state is not None:
        status["machine"] = MachineView(state=record.machine_state, accepts=list(record.machine_accepts))
    return status


def node_views(state: RunState, breaker_of: Mapping[str, str], known: Mapping[str, str] | None = None,
               only: Iterable[str] | None = None, now: float | None = None) -> dict[str, NodeView]:
    """The canvas view of the nodes in ``state`` (or of ``only`` those); ``breaker_of``: breaker
    name by node id, ``known``: breaker states known from outside the events seen so far; ``now``: see
    ``node_status``."""
    views = {}
    for node_id in state.nodes if only is None else only:
        name = breaker_of.get(node_id)
        breaker = state.breaker_state(name, dict(known or {})) if name else None
        views[node_id] = node_status(state.nodes.get(node_id) or NodeRecord(), breaker=breaker,  # type: ignore[arg-type]
                                     now=now)
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
    from_node: str | None = None
    """"Run from here" on a node's menu: a run from this node; None for a whole run (Ctrl+Enter)."""


@dataclass(kw_only=True, slots=True)
class MachineEventSent(UiEventArguments):
    """A state machine card's button: send ``event`` to the run the node waits in."""

    node_id: str
    event: str
