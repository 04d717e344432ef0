"""A graph's version history (``/graph/{graph_id}/versions``): every saved version, newest
first; two of them compared node by node and setting by setting (``graphflow.diff``); one
opened read-only (``/graph/{graph_id}/versions/{n}``); an old one restored as a new version
(nothing is overwritten: the versions after it stay in the history).
"""

from __future__ import annotations

import json
from typing import Any

from nicegui import ui

from graphflow.diff import ABSENT, GraphDiff, diff_graphs
from graphflow.formatting import when
from graphflow.ports import GraphVersion, NotFound

from ..canvas import GraphCanvas
from ..context import AppContext
from .frame import frame, tag

COLUMNS = "90px 160px minmax(140px, 1fr) 70px 70px 260px"
HEADS = ("Version", "Saved", "Name", "Nodes", "Edges", "")
STATUS_COLOURS = {"added": "#15803d", "removed": "#b91c1c", "changed": "#a16207"}
VALUE_CHARS = 160


def shown(value: Any) -> str:
    """A setting's value in one line: ``-`` when it is not set (or at its default)."""
    if value is ABSENT:
        return "-"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= VALUE_CHARS else text[:VALUE_CHARS] + "…"


def diff_lines(diff: GraphDiff) -> list[tuple[str, str]]:
    """(testid, line) for every change, as the page lists them (tests read the same lines)."""
    lines = [("graph-change", f"graph {c.path}: {shown(c.before)} -> {shown(c.after)}") for c in diff.graph]
    for group, items in (("node", diff.nodes), ("edge", diff.edges)):
        for item in items:
            lines.append((f"{group}-{item.status}", f"{group} {item.id} ({item.title}) {item.status}"))
            if item.status == "changed":
                lines += [(f"{group}-change", f"  {c.path}: {shown(c.before)} -> {shown(c.after)}")
                          for c in item.changes]
    return lines


def register(ctx: AppContext) -> None:
    workspace = ctx.workspace

    async def latest_or_none(graph_id: str) -> GraphVersion | None:
        try:
            return await workspace.graph(graph_id)
        except NotFound:
            return None

    @ui.page("/graph/{graph_id}/versions")
    async def versions_page(graph_id: str, a: int = 0, b: int = 0) -> None:
        latest = await latest_or_none(graph_id)
        name = latest.spec.name if latest and latest.spec.name else graph_id
        with frame(f"{name} · Versions", graph_id=graph_id, here="versions"):
            if latest is None:
                tag(ui.label(f"There is no saved graph {graph_id!r}."), "not-found")
                return
            box = ui.column().classes("full-width").style("gap: 12px")

        async def show(first: int, second: int) -> None:
            versions = await workspace.versions(graph_id)
            numbers = [v.version for v in versions]
            newest = numbers[0]
            second = second if second in numbers else newest
            first = first if first in numbers else (second - 1 if second - 1 in numbers else second)
            box.clear()
            with box:
                listing(versions, newest)
                comparison(versions, first, second)

        def listing(versions: list[GraphVersion], newest: int) -> None:
            with tag(ui.grid(columns=COLUMNS).classes("full-width items-center").style("gap: 2px 12px"), "versions"):
                for head in HEADS:
                    ui.label(head).classes("gf-muted")
                for stored in versions:
                    tag(ui.label(f"{stored.version}" + (" (latest)" if stored.version == newest else "")),
                        "version-number", version=stored.version)
                    ui.label(when(stored.saved_at)).classes("gf-muted")
                    ui.label(stored.spec.name or "").classes("gf-row-cell")
                    ui.label(str(len(stored.spec.nodes)))
                    ui.label(str(len(stored.spec.edges)))
                    with ui.row().classes("q-gutter-xs no-wrap"):
                        tag(ui.link("Open", f"/graph/{graph_id}/versions/{stored.version}"), "open-version",
                            version=stored.version)
                        if stored.version != newest:
                            tag(ui.button("Restore", on_click=lambda v=stored.version: restore(v))
                                .props("flat dense size=sm"), "restore-version", version=stored.version)

        def comparison(versions: list[GraphVersion], first: int, second: int) -> None:
            by_number = {v.version: v for v in versions}
            options = {v.version: f"version {v.version}" for v in reversed(versions)}
            with ui.row().classes("items-center q-gutter-sm"):
                ui.label("Compare").style("font-weight: 600")
                left = tag(ui.select(options, value=first).props("dense"), "compare-a")
                ui.label("with")
                right = tag(ui.select(options, value=second).props("dense"), "compare-b")
                left.on_value_change(lambda e: show(int(e.value), int(right.value)))
                right.on_value_change(lambda e: show(int(left.value), int(e.value)))
            diff = diff_graphs(by_number[first].spec, by_number[second].spec)
            with tag(ui.column().classes("full-width gf-mono").style("gap: 2px"), "diff"):
                if diff.empty:
                    tag(ui.label(f"Versions {first} and {second} are the same graph.").classes("gf-muted"),
                        "diff-empty")
                ui.label(summary(diff)).classes("gf-muted")
                for testid, line in diff_lines(diff):
                    status = testid.split("-")[-1]
                    tag(ui.label(line).style(f"color: {STATUS_COLOURS.get(status, 'inherit')}"), testid)

        async def restore(version: int) -> None:
            stored = await workspace.restore(graph_id, version)
            ui.notify(f"restored version {version} as version {stored.version}", type="positive")
            await show(version, stored.version)

        if latest is not None:
            await show(a, b)

    @ui.page("/graph/{graph_id}/versions/{version}")
    async def version_page(graph_id: str, version: int) -> None:
        latest = await latest_or_none(graph_id)
        try:
            stored = await workspace.graph(graph_id, version)
        except NotFound:
            stored = None
        name = (stored or latest).spec.name if (stored or latest) else graph_id  # type: ignore[union-attr]
        with frame(f"{name or graph_id} · Version {version}", graph_id=graph_id, here="versions"):
            if stored is None or latest is None:
                tag(ui.label(f"Graph {graph_id!r} has no version {version}."), "not-found")
                return
            with ui.row().classes("items-center q-gutter-md full-width no-wrap"):
                tag(ui.label(f"version {version} · saved {when(stored.saved_at)} · read-only"
                             + (" · the latest" if version == latest.version else "")), "version-title")
                ui.space()
                if version != latest.version:
                    tag(ui.link(f"Compare with version {latest.version}",
                                f"/graph/{graph_id}/versions?a={version}&b={latest.version}"), "compare-latest")
                    tag(ui.button("Restore as a new version", icon="restore", on_click=lambda: restore())
                        .props("dense"), "restore-version")
            kinds = {node.kind for node in stored.spec.nodes}
            described = [k.describe() for name, k in ctx.registry.kinds.items() if name in kinds]
            GraphCanvas(described, stored.spec.model_dump(mode="json"), registry=ctx.registry, readonly=True) \
                .classes("gf-fill").style("width: 100%")

        async def restore() -> None:
            restored = await workspace.restore(graph_id, version)
            ui.notify(f"restored version {version} as version {restored.version}", type="positive")
            ui.navigate.to(f"/graph/{graph_id}")


def summary(diff: GraphDiff) -> str:
    counts = [f"{diff.count(status)} node{'s' if diff.count(status) != 1 else ''} {status}"
              for status in ("added", "removed", "changed")]
    edges = sum(1 for _ in diff.edges)
    return ", ".join(counts) + f"; {edges} edge{'s' if edges != 1 else ''} changed; " \
        f"{len(diff.graph)} graph setting{'s' if len(diff.graph) != 1 else ''} changed"

