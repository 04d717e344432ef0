"""Continuing runs from their event log: after a crash (same run), or from a failure
(a new run that reuses what already succeeded)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from graphflow import events as ev
from graphflow.model import GraphSpec, NodeSpec
from graphflow.plan import ErrorInfo

TERMINAL_KINDS = frozenset({"node_succeeded", "node_failed", "node_skipped", "node_cancelled"})


@dataclass
class Recovery:
    """What the log of an unfinished run says, to continue it where it stopped."""

    run_id: str
    inputs: dict[str, Any]
    graph_version: int | None
    next_seq: int
    started_at: float
    """Wall-clock time of the run's start: its duration counts from there, across processes."""
    succeeded: dict[str, dict[str, Any]] = field(default_factory=dict)
    failed: dict[str, ErrorInfo] = field(default_factory=dict)
    settled: set[str] = field(default_factory=set)
    """Nodes whose final event is already in the log."""
    started: set[str] = field(default_factory=set)
    attempts: dict[str, int] = field(default_factory=dict)
    """The attempt to run next, for nodes that were in flight or waiting to retry."""
    retry_at: dict[str, float] = field(default_factory=dict)
    """Wall-clock time before which a retry must not start (a persisted backoff)."""
    degraded: list[str] = field(default_factory=list)
    usage: dict[str, tuple[float, int, bool]] = field(default_factory=dict)
    """Cost, tokens and cache hit of the nodes already settled."""
    map_items: dict[str, dict[int, Any]] = field(default_factory=dict)
    """Results of map items recorded before the crash, by node and item index."""
    nested: dict[str, list[ev.Event]] = field(default_factory=dict)
    """Nested events (an agent's steps and tool calls) of the nodes not settled, in log order."""
    first_started: dict[str, float] = field(default_factory=dict)
    """Wall-clock time of each node's first start (a waiting node's timer counts from it)."""
    waited: dict[str, dict[str, Any]] = field(default_factory=dict)
    """The last wait of each node not settled (``NodeWaiting``: kind, key, due_at, detail)."""


def recover(events: Sequence[ev.Event]) -> Recovery:
    if not events or not isinstance(events[0], ev.RunStarted):
        raise ValueError("the log does not start with run_started")
    if events[-1].kind in ("run_finished", "run_cancelled"):
        raise ValueError(f"run {events[0].run_id} already finished; a finished run is never changed")
    first = events[0]
    rec = Recovery(first.run_id, dict(first.inputs), first.graph_version, events[-1].seq + 1, first.at)
    for event in events:
        node_id = getattr(event, "node_id", None)
        if node_id is None:
            continue
        if event.kind in TERMINAL_KINDS:
            rec.settled.add(node_id)
            rec.attempts.pop(node_id, None)
            rec.retry_at.pop(node_id, None)
        if isinstance(event, ev.NodeSucceeded):
            rec.succeeded[node_id] = dict(event.output)
            rec.usage[node_id] = (event.cost, event.tokens, event.cached)
            if event.degraded:
                rec.degraded.append(node_id)
        elif isinstance(event, ev.NodeFailed):
            rec.failed[node_id] = ErrorInfo(event.error_type, event.error_message, node_id)
            rec.usage[node_id] = (event.cost, event.tokens, False)
        elif isinstance(event, ev.NodeStarted):
            rec.first_started.setdefault(node_id, event.at)
            rec.started.add(node_id)
            rec.attempts[node_id] = event.attempt
        elif isinstance(event, ev.MapProgress) and event.results:
            rec.map_items.setdefault(node_id, {}).update((int(i), r) for i, r in event.results.items())
        elif isinstance(event, ev.NodeRetrying):
            rec.attempts[node_id] = event.attempt + 1
            rec.retry_at[node_id] = event.at + event.delay
        elif isinstance(event, ev.NodeWaiting):
            rec.waited[node_id] = {"kind": event.wait_kind, "key": event.key, "due_at": event.due_at,
                                   "detail": dict(event.detail)}
        elif event.kind in ev.NESTED_KINDS:
            rec.nested.setdefault(node_id, []).append(event)
    for node_id in rec.settled:
        rec.nested.pop(node_id, None)
        rec.waited.pop(node_id, None)
    return rec


@dataclass
class Seed:
    """Outputs a new run may reuse from an earlier one (a failed one, or any, run from a node)."""

    from_run: str
    outputs: dict[str, dict[str, Any]]
    changed: list[str]
    """Nodes whose spec differs between the two graph versions (they and their
    descendants run again)."""
    from_node: str | None = None
    """A run from this node: it and its descendants run again, whether or not they changed."""


def _behaviour(node: NodeSpec) -> dict[str, Any]:
    """What decides a node's result: not its label, description, position or metadata."""
    return node.model_dump(exclude={"label", "description", "position", "metadata"})


def changed_nodes(old: GraphSpec, new: GraphSpec) -> list[str]:
    """Nodes of ``new`` that are new, behave differently, or whose incoming edges were added or removed."""
    old_nodes = {n.id: n for n in old.nodes}
    old_edges = {(e.source, e.source_port, e.target, e.target_port, e.condition) for e in old.edges}
    new_edges = {(e.source, e.source_port, e.target, e.target_port, e.condition) for e in new.edges}
    changed = {n.id for n in new.nodes if n.id not in old_nodes or _behaviour(n) != _behaviour(old_nodes[n.id])}
    ids = {n.id for n in new.nodes}
    changed |= {edge[2] for edge in old_edges ^ new_edges if edge[2] in ids}
    return sorted(changed)


def seed_from(events: Sequence[ev.Event], old: GraphSpec, new: GraphSpec, from_node: str | None = None) -> Seed:
    """Reuse every success of the old run that neither changed nor depends on a change
    (nor, with ``from_node``, is that node or downstream of it)."""
    if not events or not isinstance(events[0], ev.RunStarted):
        raise ValueError("the log does not start with run_started")
    import networkx as nx  # late: most runs never resume from a failure

    changed = changed_nodes(old, new)
    graph = nx.DiGraph()
    graph.add_nodes_from(n.id for n in new.nodes)
    graph.add_edges_from((e.source, e.target) for e in new.edges)
    dirty = set(changed) | ({from_node} if from_node else set())
    for node_id in list(dirty):
        dirty |= nx.descendants(graph, node_id)
    outputs = {e.node_id: dict(e.output) for e in events
               if isinstance(e, ev.NodeSucceeded) and not e.degraded and e.node_id in graph and e.node_id not in dirty}
    return Seed(events[0].run_id, outputs, changed, from_node)
