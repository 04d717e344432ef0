"""The runs of a graph (``/graph/{graph_id}/runs``), newest first, each opening its replay.

A run still marked ``running`` in the store is either going on in this server (live) or
was left unfinished by a process that stopped (recovered at the next start).
"""

from __future__ import annotations

import json

from nicegui import ui

from graphflow.formatting import cost, duration, when
from graphflow.ports import NotFound, RunSummary

from ..context import AppContext
from .frame import frame, tag

COLUMNS = "130px 100px 160px 80px 70px 70px minmax(100px, 1fr) minmax(120px, 2fr)"
HEADS = ("Run", "Status", "Started", "Duration", "Cost", "Version", "Failed node", "Inputs")
STATUS_COLOURS = {"succeeded": "#15803d", "failed": "#b91c1c", "cancelled": "#a16207", "running": "#1d4ed8",
                  "waiting": "#7e22ce", "unfinished": "#6b7280"}


def status_text(run: RunSummary, live: bool) -> str:
    """The status to show: ``running`` only for a run this server is executing."""
    if run.status != "running":
        return run.status
    return "running" if live else "unfinished"


def register(ctx: AppContext) -> None:
    @ui.page("/graph/{graph_id}/runs")
    async def runs_page(graph_id: str) -> None:
        try:
            stored = await ctx.workspace.graph(graph_id)
        except NotFound:
            stored = None
        with frame(f"{stored.spec.name if stored and stored.spec.name else graph_id} · Runs", graph_id=graph_id,
                   here="runs"):
            with ui.row().classes("items-center q-gutter-sm"):
                ui.label(stored.spec.name if stored else f"{graph_id} (no stored graph)").style("font-weight: 600")
                tag(ui.button("Refresh", icon="refresh", on_click=lambda: listing.refresh()).props("flat dense"),
                    "refresh")
            listing_box = ui.column().classes("full-width").style("gap: 0")

        @ui.refreshable
        async def listing() -> None:
            runs = await ctx.workspace.runs(graph_id, limit=200)
            if not runs:
                tag(ui.label("No runs yet: run the graph from the editor.").classes("gf-muted"), "no-runs")
                return
            latest = stored.version if stored else None
            with tag(ui.grid(columns=COLUMNS).classes("full-width items-center").style("gap: 4px 12px"), "runs"):
                for head in HEADS:
                    ui.label(head).classes("gf-muted")
                for run in runs:
                    run_row(run, latest)

        def run_row(run: RunSummary, latest: int | None) -> None:
            live = ctx.runs.get(run.run_id)
            status = status_text(run, live is not None and live.result is None and live.error is None)
            tag(ui.link(run.run_id[:12], f"/run/{run.run_id}").classes("gf-row-cell gf-mono"), "run-link",
                run_id=run.run_id, status=status)
            tag(ui.label(status).style(f"color: {STATUS_COLOURS.get(status, 'inherit')}; font-weight: 500"),
                "run-status", run_id=run.run_id, status=status)
            ui.label(when(run.started_at)).classes("gf-muted")
            ui.label(duration(run.duration))
            ui.label(cost(run.cost))
            version = "-" if run.graph_version is None else str(run.graph_version)
            ui.label(version + ("" if latest is None or run.graph_version in (None, latest) else " (old)"))
            tag(ui.label(run.failed_node or "").classes("gf-row-cell"), "failed-node", run_id=run.run_id)
            inputs = json.dumps(run.inputs, default=str, ensure_ascii=False)
            ui.label(inputs).classes("gf-row-cell gf-mono gf-muted").tooltip(inputs[:2000])

        with listing_box:
            await listing()
