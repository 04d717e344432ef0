"""Run statistics of a graph (``/graph/{graph_id}/stats``): per node p50/p95 latency, success
rate, retries, tokens per run and cost per 1,000 runs, as a table and as a heat overlay on the canvas; the
graph-level line; and the current state of the graph's circuit breakers.

Heat is a node's p95 relative to the slowest node's p95 (0 cool .. 1 hot), and never
relative to less than ``HEAT_FLOOR``: in a graph whose nodes all take a millisecond, none
is hot.
"""

from __future__ import annotations

from collections.abc import Sequence

from nicegui import ui

from graphflow.formatting import cost, duration, percent
from graphflow.model import GraphSpec
from graphflow.ports import NotFound
from graphflow.stats import GraphStats, NodeStats
from graphflow.ui.canvas import GraphCanvas, NodeHeat

from ..context import AppContext
from .frame import frame, tag

COLUMNS = [
    {"name": "node", "label": "Node", "field": "node", "align": "left", "sortable": True},
    {"name": "runs", "label": "Runs", "field": "runs", "sortable": True},
    {"name": "p50", "label": "p50", "field": "p50"},
    {"name": "p95", "label": "p95", "field": "p95"},
    {"name": "success", "label": "Success", "field": "success"},
    {"name": "retries", "label": "Retries", "field": "retries", "sortable": True},
    {"name": "tokens", "label": "Tokens / run", "field": "tokens"},
    {"name": "cost", "label": "Cost / 1K runs", "field": "cost"},
    {"name": "cascade", "label": "Answered by (cascade)", "field": "cascade", "align": "left"},
    {"name": "heat", "label": "Heat", "field": "heat"},
]


def plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


HEAT_FLOOR = 0.05
"""Seconds: the slowest p95 counted as at least this much."""


def heat_map(nodes: Sequence[NodeStats]) -> dict[str, NodeHeat]:
    """Each node's overlay: heat is p95 / the slowest p95 (at least ``HEAT_FLOOR``)."""
    slowest = max((n.p95 for n in nodes if n.p95), default=0.0)
    slowest = max(slowest, HEAT_FLOOR) if slowest else 0.0
    return {
        n.node_id: NodeHeat(p50=n.p50, p95=n.p95, success_rate=n.success_rate, cost_per_1k=n.cost_per_1k_runs,
                            tokens_per_run=n.tokens_per_run,
                            heat=(n.p95 or 0.0) / slowest if slowest else 0.0)
        for n in nodes
    }


def table_rows(nodes: Sequence[NodeStats], spec: GraphSpec | None) -> list[dict[str, str | int]]:
    labels = {node.id: node.label for node in spec.nodes} if spec else {}
    heat = heat_map(nodes)
    return [
        {"node": f"{labels[n.node_id]} ({n.node_id})" if labels.get(n.node_id) else n.node_id, "id": n.node_id,
         "runs": n.runs, "p50": duration(n.p50), "p95": duration(n.p95), "success": percent(n.success_rate),
         "retries": n.retries, "tokens": f"{n.tokens_per_run:.0f}", "cost": cost(n.cost_per_1k_runs),
         "heat": f"{heat[n.node_id]['heat']:.2f}", "cascade": cascade_text(n)}
        for n in nodes
    ]


def cascade_text(stats: NodeStats) -> str:
    """Which model answered how often, and the saving against always asking the larger one."""
    if not stats.answered_by:
        return ""
    answers = ", ".join(f"{model} {count}" for model, count in sorted(stats.answered_by.items()))
    return f"{answers}; saved {cost(stats.saved)}"


def graph_line(stats: GraphStats) -> str:
    return (f"{plural(stats.runs, 'run')} · p50 {duration(stats.p50)} · p95 {duration(stats.p95)} · "
            f"success {percent(stats.success_rate)} · tokens per run {stats.tokens_per_run:.0f} · "
            f"cost per 1K runs {cost(stats.cost_per_1k_runs)}")


def show_breakers(ctx: AppContext, spec: GraphSpec) -> None:
    """The current state of each breaker the graph's nodes use (kept across runs and restarts)."""
    states = ctx.workspace.breakers_of(spec)
    if not states:
        return
    with tag(ui.row().classes("items-center q-gutter-sm"), "breakers"):
        ui.label("Circuit breakers:").classes("gf-muted")
        for name, state in states.items():
            users = ", ".join(n.id for n in spec.nodes if n.breaker and n.breaker.name == name)
            colour = {"closed": "positive", "open": "negative", "half_open": "warning"}.get(state, "grey")
            tag(ui.badge(f"{name}: {state.replace('_', '-')} ({users})", color=colour), breaker=name, state=state)


def register(ctx: AppContext) -> None:
    @ui.page("/graph/{graph_id}/stats")
    async def stats_page(graph_id: str) -> None:
        workspace = ctx.workspace
        try:
            stored = await workspace.graph(graph_id)
        except NotFound:
            stored = None
        with frame(f"{stored.spec.name if stored and stored.spec.name else graph_id} · Stats", graph_id=graph_id,
                   here="stats"):
            try:
                stats = await workspace.stats(graph_id)
            except NotFound:
                tag(ui.label(f"There is no graph {graph_id!r} and no run of it."), "not-found")
                return
            if stored is None:
                ui.label(f"Graph {graph_id!r} is no longer stored: these are the statistics of its stored runs.") \
                    .classes("gf-muted")
            tag(ui.label(graph_line(stats.graph)).style("font-weight: 600"), "graph-stats")
            if stats.graph.runs == 0:
                tag(ui.label("No finished runs yet: statistics appear after the graph has run.").classes("gf-muted"),
                    "no-stats")
            if stored is not None:
                show_breakers(ctx, stored.spec)
            rows = table_rows(stats.nodes, stored.spec if stored else None)
            tag(ui.table(columns=COLUMNS, rows=rows, row_key="id"), "node-stats") \
                .props("dense flat bordered").classes("full-width")
            if stored is not None:
                spec = stored.spec
                kinds = {node.kind for node in spec.nodes}
                described = [k.describe() for name, k in ctx.registry.kinds.items() if name in kinds]
                ui.add_css(".gf-replay .gf-palette { display: none; }")
                canvas = GraphCanvas(described, spec.model_dump(mode="json"), registry=ctx.registry) \
                    .classes("gf-replay").style("height: 460px; width: 100%")
                canvas.set_heat(heat_map(stats.nodes))
