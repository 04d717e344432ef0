"""Spec -> a validated, resolved graph the planner can run.

Every check that needs the registry happens here, and all problems are reported at
once. networkx is built on demand as a read-only view for analysis; the compiled
graph itself is plain frozen data.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from graphflow.errors import GraphValidationError, Problem
from graphflow.expressions import Expression, ExpressionError, parse_expression
from graphflow.model import ERROR_PORT, EdgeSpec, GraphSpec, NodeSpec, PortSpec
from graphflow.nodes.base import NodeKind
from graphflow.nodes.join import TOLERANT_STRATEGIES, JoinConfig
from graphflow.registry import Registry
from graphflow.wiring import wiring_problem

if TYPE_CHECKING:
    import networkx as nx  # imported where a view is built: it is a third of graphflow's import time


@dataclass(frozen=True, slots=True)
class CompiledEdge:
    id: str
    source: str
    source_port: str
    target: str
    target_port: str
    condition: Expression | None


@dataclass(frozen=True, slots=True)
class CompiledNode:
    id: str
    spec: NodeSpec
    kind: NodeKind
    config: Any
    runtime: Any
    """What ``kind.run`` receives as config (see ``NodeKind.prepare``)."""
    inputs: tuple[PortSpec, ...]
    outputs: tuple[PortSpec, ...]
    in_edges: tuple[CompiledEdge, ...]
    out_edges: tuple[CompiledEdge, ...]
    join: JoinConfig | None
    failure_handled: bool
    """A failure here does not fail the run: it is routed (error edges), degraded
    (optional node) or absorbed by tolerant joins on every path."""
    failure_propagates: bool
    """Handled by propagating the error down to tolerant joins (not routed or degraded)."""
    gate: tuple[str, int] | None
    """(join id, branch index) for nodes of a sequential fallback branch."""
    inline: bool
    """Runs in the scheduler loop: a pure or plain sync kind with no timeout, retry,
    breaker or cache (those need a task)."""
    plain: bool = field(init=False)
    """No retry, breaker, cache or timeout: one attempt, nothing reported from inside it."""
    required_ports: tuple[str, ...] = field(init=False)
    """Derived from ``inputs``, once: the planner asks per node run."""
    multi_ports: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        spec = self.spec
        plain = spec.retry is None and spec.breaker is None and spec.cache is None and spec.timeout is None
        object.__setattr__(self, "plain", plain)
        object.__setattr__(self, "required_ports", tuple(p.name for p in self.inputs if p.required))
        object.__setattr__(self, "multi_ports", frozenset(p.name for p in self.inputs if p.multi))


@dataclass(frozen=True, slots=True)
class NodeSets:
    """Nodes the run loop treats apart, worked out once per compiled graph (the CLI and the
    workspace make a runner per run; working these out per runner was a twentieth of a
    fan-out's run)."""

    hooked: frozenset[str]
    """Get the reporting hooks on their context (progress, text, nested events, sub-graphs):
    not inline, and the kind may report through its context."""
    own_context: frozenset[str]
    """Inline nodes that get a context of their own; the other inline nodes share one per run
    (``NodeKind.needs_own_context``)."""
    publishers: frozenset[str]
    """Their success may add to the run's outputs (``NodeKind.run_output``)."""
    solo: frozenset[str]
    """May be awaited by the loop itself when nothing else runs: the kind stops at once when
    cancelled and reports nothing while it runs, and no policy reports from inside the attempt
    (retries, breakers, cache, timeout)."""


@dataclass(frozen=True)
class CompiledGraph:
    spec: GraphSpec
    nodes: dict[str, CompiledNode]
    order: tuple[str, ...]
    """Topological order."""
    join_branches: dict[str, tuple[str, ...]]
    """For each join: its branch source nodes, in the order a fallback tries them."""

    @cached_property
    def nx(self) -> nx.DiGraph:
        """A read-only networkx view, for analysis only."""
        import networkx as nx

        graph = nx.DiGraph()
        for node_id in self.order:
            graph.add_node(node_id, kind=self.nodes[node_id].spec.kind)
        for node in self.nodes.values():
            for edge in node.out_edges:
                graph.add_edge(edge.source, edge.target, id=edge.id)
        return nx.freeze(graph)

    @cached_property
    def node_sets(self) -> NodeSets:
        nodes = self.nodes.values()
        return NodeSets(
            hooked=frozenset(n.id for n in nodes if not n.inline and n.kind.reports_through_context(n.runtime)),
            own_context=frozenset(n.id for n in nodes if n.inline and n.kind.needs_own_context(n.runtime)),
            publishers=frozenset(n.id for n in nodes if n.kind.publishes),
            solo=frozenset(n.id for n in nodes
                           if not n.inline and n.plain and n.kind.stops_when_cancelled(n.runtime)),
        )

    def input_nodes(self) -> tuple[CompiledNode, ...]:
        return self._inputs

    @cached_property
    def _inputs(self) -> tuple[CompiledNode, ...]:
        return tuple(n for n in self.nodes.values() if n.spec.kind == "input")

    @cached_property
    def in_degree(self) -> dict[str, int]:
        """Incoming edges per node, in topological order (each run's planner starts from a copy)."""
        return {n: len(self.nodes[n].in_edges) for n in self.order}


def compile_graph(spec: GraphSpec, registry: Registry) -> CompiledGraph:
    problems: list[Problem] = []
    kinds: dict[str, tuple[NodeKind, Any]] = {}
    for node in spec.nodes:
        resolved = _resolve_kind(node, registry, problems)
        if resolved is not None:
            kinds[node.id] = resolved
    ports = {nid: kind.ports_in(cfg, registry) for nid, (kind, cfg) in kinds.items()}
    edges = [_compile_edge(e, ports, problems) for e in spec.edges]
    _check_inputs(spec, ports, problems)
    _check_wired(spec, kinds, ports, problems)
    order = _topological_order(spec, problems)
    if problems:
        raise GraphValidationError(problems)

    in_edges: dict[str, list[CompiledEdge]] = {n.id: [] for n in spec.nodes}
    out_edges: dict[str, list[CompiledEdge]] = {n.id: [] for n in spec.nodes}
    for edge in edges:
        assert edge is not None
        in_edges[edge.target].append(edge)
        out_edges[edge.source].append(edge)
    joins = {nid: cfg for nid, (kind, cfg) in kinds.items() if isinstance(cfg, JoinConfig)}
    branches = _join_branches(joins, in_edges, problems)
    if problems:
        raise GraphValidationError(problems)
    tolerant = _failure_tolerated(order, out_edges, joins)
    gates = _fallback_gates(order, branches, joins, in_edges, out_edges)
    runtimes = {n.id: kinds[n.id][0].prepare_in(kinds[n.id][1], registry, spec) for n in spec.nodes}
    nodes = {}
    for node in spec.nodes:
        kind, cfg = kinds[node.id]
        nodes[node.id] = CompiledNode(
            id=node.id,
            spec=node,
            kind=kind,
            config=cfg,
            runtime=runtimes[node.id],
            inputs=ports[node.id][0],
            outputs=ports[node.id][1],
            in_edges=tuple(in_edges[node.id]),
            out_edges=tuple(out_edges[node.id]),
            join=joins.get(node.id),
            failure_handled=node.optional or any(e.source_port == ERROR_PORT for e in out_edges[node.id])
            or tolerant[node.id],
            failure_propagates=tolerant[node.id],
            gate=gates.get(node.id),
            inline=_runs_inline(node, kind, runtimes[node.id]),
        )
    return CompiledGraph(spec=spec, nodes=nodes, order=tuple(order), join_branches=branches)


def _runs_inline(node: NodeSpec, kind: NodeKind, runtime: Any) -> bool:
    policies = (node.timeout, node.retry, node.breaker, node.cache)
    return kind.runs_inline(runtime) and all(p is None for p in policies)


def _resolve_kind(node: NodeSpec, registry: Registry, problems: list[Problem]) -> tuple[NodeKind, Any] | None:
    kind = registry.kinds.get(node.kind)
    if kind is None:
        known = ", ".join(sorted(registry.kinds))
        problems.append(Problem("unknown_kind", f"unknown node kind {node.kind!r} (known: {known})", node.id))
        return None
    try:
        config = kind.parse_config(node.config)
    except ValidationError as exc:
        for err in exc.errors():
            path = ".".join(["config", *(str(p) for p in err["loc"])])  # a whole-config check has no loc
            code = "unknown_field" if err["type"] == "extra_forbidden" else "invalid_config"
            message = err["msg"].removeprefix("Value error, ")
            problems.append(Problem(code, f"{path}: {message}", node.id, path=path))
        return None
    for code, message in kind.check(config, registry):
        problems.append(Problem(code, message, node.id))
    for name, text in kind.expressions(config):
        try:
            parse_expression(text)
        except ExpressionError as exc:
            problems.append(Problem("bad_expression", f"config.{name}: {exc}", node.id, path=f"config.{name}"))
    return kind, config


def _compile_edge(
    edge: EdgeSpec, ports: dict[str, tuple[tuple[PortSpec, ...], tuple[PortSpec, ...]]], problems: list[Problem]
) -> CompiledEdge | None:
    condition = None
    if edge.condition is not None:
        try:
            condition = parse_expression(edge.condition)
        except ExpressionError as exc:
            problems.append(Problem("bad_expression", f"condition: {exc}", edge_id=edge.id, path="condition"))
    if edge.source in ports and edge.target in ports:
        out_port = _source_port(edge, ports)
        in_port = next((p for p in ports[edge.target][0] if p.name == edge.target_port), None)
        if out_port is None:
            names = ", ".join(p.name for p in ports[edge.source][1]) or "none"
            problems.append(
                Problem("unknown_port", f"node {edge.source!r} has no output {edge.source_port!r} (has: {names})",
                        edge.source, edge.id)
            )
        if in_port is None:
            names = ", ".join(p.name for p in ports[edge.target][0]) or "none"
            problems.append(
                Problem("unknown_port", f"node {edge.target!r} has no input {edge.target_port!r} (has: {names})",
                        edge.target, edge.id)
            )
        mismatch = out_port and in_port and wiring_problem(edge.source, out_port, edge.target, in_port)
        if mismatch:
            problems.append(Problem("port_type_mismatch", mismatch, edge.target, edge.id))
    return CompiledEdge(edge.id, edge.source, edge.source_port, edge.target, edge.target_port, condition)


def _check_inputs(spec: GraphSpec, ports: dict[str, Any], problems: list[Problem]) -> None:
    wired: dict[tuple[str, str], list[str]] = {}
    for edge in spec.edges:
        wired.setdefault((edge.target, edge.target_port), []).append(edge.id)
    for node in spec.nodes:
        if node.id not in ports:
            continue
        for p in ports[node.id][0]:
            edge_ids = wired.get((node.id, p.name), [])
            if p.required and not edge_ids:
                problems.append(
                    Problem("missing_required_input", f"required input {p.name!r} is not connected", node.id)
                )
            if len(edge_ids) > 1 and not p.multi:
                problems.append(
                    Problem("port_already_connected",
                            f"input {p.name!r} takes one edge but has {len(edge_ids)}: {', '.join(edge_ids)}",
                            node.id, edge_ids[1])
                )
    names: dict[str, str] = {}
    for node in spec.nodes:
        if node.kind == "input" and isinstance(node.config.get("name"), str):
            other = names.setdefault(node.config["name"], node.id)
            if other != node.id:
                problems.append(Problem("invalid_config", f"input name {node.config['name']!r} is also used by "
                                        f"node {other!r}", node.id, path="config.name"))


def _check_wired(spec: GraphSpec, kinds: dict[str, tuple[NodeKind, Any]], ports: dict[str, Any],
                 problems: list[Problem]) -> None:
    """Each kind's checks of what feeds its inputs (a template's placeholders against its input's type)."""
    fed: dict[str, dict[str, PortSpec]] = {node_id: {} for node_id in kinds}
    for edge in spec.edges:
        if edge.source in ports and edge.target in fed:
            out = _source_port(edge, ports)
            if out is not None:
                fed[edge.target][edge.target_port] = out
    run_inputs = frozenset(n.config["name"] for n in spec.nodes
                           if n.kind == "input" and isinstance(n.config.get("name"), str))
    for node_id, (kind, config) in kinds.items():
        for code, message in kind.check_wired(config, fed[node_id], run_inputs):
            field = message.partition(":")[0]
            problems.append(Problem(code, message, node_id, path=field if field.startswith("config.") else None))


def _source_port(edge: EdgeSpec, ports: dict[str, Any]) -> PortSpec | None:
    out = next((p for p in ports[edge.source][1] if p.name == edge.source_port), None)
    if out is None and edge.source_port == ERROR_PORT:
        return PortSpec(name=ERROR_PORT, type="object")
    return out


def _topological_order(spec: GraphSpec, problems: list[Problem]) -> list[str]:
    """Kahn's algorithm, smallest id first among the ready (as networkx's lexicographical
    sort, without importing networkx for every compile)."""
    pairs = {(e.source, e.target) for e in spec.edges if e.source != e.target}
    successors: dict[str, list[str]] = {n.id: [] for n in spec.nodes}
    indegree = dict.fromkeys(successors, 0)
    for source, target in pairs:
        if source in successors and target in successors:
            successors[source].append(target)
            indegree[target] += 1
    ready = [n for n, d in indegree.items() if d == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        node_id = heapq.heappop(ready)
        order.append(node_id)
        for target in successors[node_id]:
            indegree[target] -= 1
            if indegree[target] == 0:
                heapq.heappush(ready, target)
    if len(order) == len(successors):
        return order
    import networkx as nx  # only to name the cycle

    cycle = nx.find_cycle(nx.DiGraph(list(pairs)))
    path = " -> ".join([u for u, _ in cycle] + [cycle[0][0]])
    problems.append(Problem("cycle", f"graph has a cycle: {path} (loops belong in a state machine node)",
                            node_id=cycle[0][0]))
    return []


def _join_branches(
    joins: dict[str, JoinConfig], in_edges: dict[str, list[CompiledEdge]], problems: list[Problem]
) -> dict[str, tuple[str, ...]]:
    branches: dict[str, tuple[str, ...]] = {}
    for join_id, cfg in joins.items():
        sources = list(dict.fromkeys(e.source for e in in_edges[join_id]))
        for name, listed in (("required", cfg.required), ("order", cfg.order)):
            for branch in listed:
                if branch not in sources:
                    problems.append(Problem("bad_join", f"config.{name} names {branch!r}, which is not a branch "
                                            f"of this join (branches: {', '.join(sources) or 'none'})", join_id))
        if cfg.strategy == "quorum" and cfg.quorum is not None and cfg.quorum > len(sources):
            problems.append(Problem("bad_join", f"quorum {cfg.quorum} is more than its {len(sources)} branches",
                                    join_id))
        ordered = [b for b in cfg.order if b in sources]
        branches[join_id] = tuple(ordered + [s for s in sources if s not in ordered])
    return branches


def _failure_tolerated(
    order: list[str], out_edges: dict[str, list[CompiledEdge]], joins: dict[str, JoinConfig]
) -> dict[str, bool]:
    """True when every path from the node reaches a tolerant join, which absorbs a failure."""
    tolerated: dict[str, bool] = {}
    for node_id in reversed(order):
        targets = {e.target for e in out_edges[node_id] if e.source_port != ERROR_PORT}
        tolerated[node_id] = bool(targets) and all(
            (t in joins and joins[t].strategy in TOLERANT_STRATEGIES) or tolerated[t] for t in targets
        )
    return tolerated


def _ancestors_or_self(node_id: str, in_edges: dict[str, list[CompiledEdge]]) -> set[str]:
    seen, stack = {node_id}, [node_id]
    while stack:
        for edge in in_edges[stack.pop()]:
            if edge.source not in seen:
                seen.add(edge.source)
                stack.append(edge.source)
    return seen


def _fallback_gates(
    order: list[str],
    branches: dict[str, tuple[str, ...]],
    joins: dict[str, JoinConfig],
    in_edges: dict[str, list[CompiledEdge]],
    out_edges: dict[str, list[CompiledEdge]],
) -> dict[str, tuple[str, int]]:
    """Nodes that belong to one branch of a sequential fallback only wait for the
    branches before it to fail. A node shared with anything else is never held."""
    position = {n: i for i, n in enumerate(order)}
    gates: dict[str, tuple[str, int]] = {}
    for join_id, cfg in joins.items():
        if cfg.strategy != "first_success" or cfg.mode != "sequential":
            continue
        earlier: set[str] = set()  # ancestors-or-self of the branches tried before this one
        for index, head in enumerate(branches[join_id]):
            if index > 0 and head in earlier:
                break  # holding it back would starve an earlier branch; from here on, no gates
            earlier |= _ancestors_or_self(head, in_edges)
            if index == 0 or any(e.target != join_id for e in out_edges[head]):
                continue  # a head others consume too is never held: they would wait on the fallback
            members = {head}
            frontier = sorted({e.source for e in in_edges[head]}, key=position.__getitem__, reverse=True)
            while frontier:
                candidate = frontier.pop(0)
                if candidate in members:
                    continue
                if all(e.target in members for e in out_edges[candidate]):
                    members.add(candidate)
                    frontier.extend(e.source for e in in_edges[candidate])
                    frontier.sort(key=position.__getitem__, reverse=True)
            for member in members:
                gates.setdefault(member, (join_id, index))
    return gates
