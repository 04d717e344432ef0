"""The editor (``/graph/{graph_id}``): the canvas with the latest stored version, a settings
panel for the selected node, validation problems on the nodes and in a list, save (a new
version, only when valid), and runs watched live (``live.py``).
"""

from __future__ import annotations

import contextlib
from typing import Any

from nicegui import ui

from graphflow.compile import CompiledGraph
from graphflow.errors import GraphValidationError, Problem
from graphflow.model import GraphSpec
from graphflow.ports import GraphVersion, NotFound
from graphflow.validate import spec_from_data

from ..canvas import GraphCanvas
from ..canvas.events import GraphChangeEvent, SaveEvent, SelectEvent
from ..context import AppContext, LiveRun
from .chat import ChatPanel
from .frame import frame, tag
from .history import nav_links
from .live import RunView, ask_inputs
from .settings_form import SettingsForm


def problems_by_node(graph: dict[str, Any], problems: list[Problem]) -> dict[str, list[str]]:
    """Each problem on its node; an edge's problem on the edge's target (and source) node."""
    ends = {e.get("id"): (e.get("source"), e.get("target")) for e in graph.get("edges", ())}
    nodes = {n.get("id") for n in graph.get("nodes", ())}
    result: dict[str, list[str]] = {}
    for p in problems:
        where = [p.node_id] if p.node_id else [n for n in ends.get(p.edge_id, ()) if n] if p.edge_id else []
        for node_id in dict.fromkeys(where):
            if node_id in nodes:
                result.setdefault(node_id, []).append(f"[{p.code}] {p.message}")
    return result


def same_spec(graph: dict[str, Any], spec: GraphSpec) -> bool:
    try:
        return spec_from_data(graph) == spec
    except GraphValidationError:
        return False


class Editor:
    """One browser tab's editor state: nothing here is shared with another tab."""

    def __init__(self, ctx: AppContext, stored: GraphVersion) -> None:
        self.ctx = ctx
        self.graph_id = stored.graph_id
        self.version = stored.version
        self.saved = stored.spec
        self.graph: dict[str, Any] = stored.spec.model_dump(mode="json")
        self.kinds = {name: kind.describe() for name, kind in ctx.registry.kinds.items()}
        self.compiled: CompiledGraph | None = None
        self.problems: list[Problem] = []
        self.selected: str | None = None
        self.form: SettingsForm | None = None
        self.run_view: RunView | None = None

    # --- layout

    def build(self) -> None:
        with frame(self.saved.name or self.graph_id):
            with ui.row().classes("items-center full-width q-gutter-sm"):
                self.version_label = tag(ui.label().classes("gf-muted"), "version")
                ui.space()
                for name, icon, tip in (("undo", "undo", "Undo (Ctrl+Z)"), ("redo", "redo", "Redo (Ctrl+Y)"),
                                        ("fit", "fit_screen", "Fit the graph in view")):
                    tag(ui.button(icon=icon, on_click=lambda name=name: self.canvas_action(name))
                        .props("flat dense").tooltip(tip), name)
                tag(ui.button("Save", icon="save", on_click=self.save).tooltip("Save a new version (Ctrl+S)"), "save")
                tag(ui.button("Run", icon="play_arrow", on_click=self.run).props("color=positive"), "run")
                nav_links(self.graph_id, "editor")
            with ui.row().classes("full-width no-wrap").style("gap: 12px; align-items: stretch"):
                self.canvas = GraphCanvas(list(self.kinds.values()), self.graph, registry=self.ctx.registry,
                                          on_change=self.on_change, on_select=self.on_select,
                                          on_save=self.on_save, on_run=self.run)
                self.canvas.style("flex: 1; height: calc(100vh - 150px); min-width: 0")
                with ui.column().style("width: 380px; flex: none; height: calc(100vh - 150px); overflow: auto"):
                    with ui.tabs().classes("full-width") as tabs:
                        self.tab_settings = ui.tab("Settings")
                        self.tab_problems = tag(ui.tab("Problems"), "problems-tab")
                        self.tab_run = ui.tab("Run")
                        self.tab_chat = tag(ui.tab("Chat"), "chat-tab")
                    self.tabs = tabs
                    with ui.tab_panels(tabs, value=self.tab_settings).classes("full-width"):
                        with ui.tab_panel(self.tab_settings):
                            self.settings = tag(ui.column().classes("full-width"), "settings")
                        with ui.tab_panel(self.tab_problems):
                            self.problem_list = tag(ui.column().classes("full-width q-gutter-xs"), "problems")
                        with ui.tab_panel(self.tab_run):
                            with tag(ui.column().classes("full-width"), "run-panel") as self.run_panel:
                                ui.label("No run yet: press Run (Ctrl+Enter on the canvas).").classes("gf-muted")
                        with ui.tab_panel(self.tab_chat):
                            self.chat = ChatPanel(self.ctx, self.graph_id, self.prepare_chat,
                                                  lambda live, spec: self.watch(live, spec, switch=False))
        self.show_settings()
        self.validate()

    # --- editing

    def canvas_action(self, name: str) -> None:
        {"undo": self.canvas.undo, "redo": self.canvas.redo, "fit": self.canvas.fit_view}[name]()

    def on_change(self, event: GraphChangeEvent) -> None:
        self.changed(event.graph)
        if event.reason == "connect":
            self.routes_from_labels()

    def routes_from_labels(self) -> None:
        """A router just wired to a classifier's ``label``, with none of its routes wired yet, gets a
        route per label (an undoable edit, like any other)."""
        for router_id, config in routers_to_fill(self.graph):
            self.canvas.update_node(router_id, config=config)
            ui.notify(f"{router_id}: a route for each of the classifier's labels", type="info")

    def changed(self, graph: dict[str, Any]) -> None:
        self.graph = graph
        self.validate()
        if self.form is not None:
            node = self.node(self.form.node["id"])
            if node is None or _without_position(node) != _without_position(self.form.node):
                self.show_settings()

    def validate(self) -> None:
        """Compile the graph being edited (the one compile its save and run then reuse)."""
        self.compiled, self.problems = self.ctx.workspace.check(self.graph)
        self.canvas.set_problems(problems_by_node(self.graph, self.problems))
        self.problem_list.clear()
        with self.problem_list:
            if not self.problems:
                ui.label("No problems: the graph is valid.").classes("gf-muted")
            for problem in self.problems:
                tag(ui.label(str(problem)).classes("gf-problem"), "problem", code=problem.code)
        self.tab_problems.props(f"label='Problems ({len(self.problems)})'" if self.problems else "label=Problems")
        self.show_version()

    def show_version(self) -> None:
        dirty = self.compiled.spec != self.saved if self.compiled else not same_spec(self.graph, self.saved)
        self.version_label.text = f"version {self.version}" + (" · unsaved changes" if dirty else "")

    def node(self, node_id: str) -> dict[str, Any] | None:
        return next((n for n in self.graph.get("nodes", ()) if n.get("id") == node_id), None)

    def on_select(self, event: SelectEvent) -> None:
        self.selected = event.node_id
        self.show_settings()
        if event.node_id:
            self.tabs.set_value(self.tab_settings)

    def show_settings(self) -> None:
        self.settings.clear()
        self.form = None
        node = self.node(self.selected) if self.selected else None
        with self.settings:
            if node is None:
                ui.label("Select a node to edit its settings.").classes("gf-muted")
                return
            kind = self.kinds.get(node.get("kind", ""))
            with ui.row().classes("full-width items-center no-wrap"):
                ui.label(f"{node.get('id')} · {(kind or {}).get('title') or node.get('kind')}").classes("gf-muted")
                ui.space()
                tag(ui.button("Apply", icon="check", on_click=self.apply_settings).props("dense"), "apply-settings")
            record = self.run_view.state.nodes.get(node["id"]) if self.run_view is not None else None
            if record is not None and record.error:  # the card clamps it: the whole text is here
                status = "degraded" if record.degraded else record.status
                tag(ui.label(f"{status}: {record.error}").classes("gf-problem gf-mono")
                    .style("overflow-wrap: anywhere"), "node-error")
            self.form = SettingsForm(node, kind, {"function": sorted(self.ctx.registry.functions)})

    def apply_settings(self) -> None:
        if self.form is None:
            return
        old = self.form.node
        new, _ = self.form.read()  # the form shows its own errors
        current = self.node(old["id"])
        if new is None or current is None:
            return
        edited = {k for k in set(old) | set(new) if old.get(k) != new.get(k)}
        node = {k: v for k, v in current.items() if k not in edited} | {k: new[k] for k in edited if k in new}
        graph = {**self.graph, "nodes": [node if n.get("id") == node["id"] else n for n in self.graph["nodes"]]}
        others = {k: node.get(k) for k in edited - {"label", "config"}}  # None removes an option
        self.canvas.update_node(node["id"], label=node.get("label", ""), config=node.get("config") or {},
                                fields=others)
        self.form.node = node
        self.changed(graph)

    # --- saving

    async def on_save(self, event: SaveEvent) -> None:
        self.changed(event.graph)
        await self.save()

    async def save(self, announce: bool = True) -> GraphVersion | None:
        """A new version when the graph is valid and changed; None (and why) when invalid."""
        if self.compiled is None:
            ui.notify(f"not saved: {len(self.problems)} problem{'s' if len(self.problems) != 1 else ''} "
                      "(see Problems)", type="negative")
            self.tabs.set_value(self.tab_problems)
            return None
        stored = await self.ctx.workspace.save(self.compiled)
        if stored.version != self.version:
            ui.notify(f"saved version {stored.version}", type="positive")
        elif announce:
            ui.notify(f"no changes since version {stored.version}")
        self.version, self.saved = stored.version, stored.spec
        self.show_version()
        return stored

    # --- running

    async def run(self) -> None:
        if self.run_view is not None and not self.run_view.finished:
            ui.notify("a run is going on: stop it first")
            return
        stored = await self.save(announce=False)
        if stored is None or self.compiled is None:
            return
        inputs = await ask_inputs(self.compiled)
        if inputs is None:
            return
        self.watch(self.ctx.runs.start(self.graph_id, inputs, version=stored.version), stored.spec)

    async def prepare_chat(self) -> tuple[GraphVersion, CompiledGraph] | None:
        """For the chat panel: the saved version to run (saving first), None when invalid."""
        stored = await self.save(announce=False)
        return None if stored is None or self.compiled is None else (stored, self.compiled)

    def watch(self, live: LiveRun, spec: GraphSpec, switch: bool = True) -> None:
        self.run_panel.clear()
        if switch:
            self.tabs.set_value(self.tab_run)
        with self.run_panel:
            tag(ui.label(f"run {live.run_id}").classes("gf-muted"), "run-id")
        self.run_view = RunView(self.canvas, spec, self.run_panel, self.ctx.workspace.breaker_states())
        self.run_view.follow(live)

    async def follow(self, run_id: str) -> None:
        """Watch a run of this server: the one asked for (``?run=``), else one of this graph still going on."""
        live = self.ctx.runs.get(run_id) if run_id else None
        if live is None:
            active = [r for r in self.ctx.runs.runs.values() if r.graph_id == self.graph_id and not r.log.closed]
            live = active[-1] if active else None
        if live is None or live.graph_id != self.graph_id:
            return
        started = live.log.events[0] if live.log.events else None
        version = getattr(started, "graph_version", None) or self.version
        spec = self.saved
        if version != self.version:
            with contextlib.suppress(NotFound):
                spec = (await self.ctx.workspace.graph(self.graph_id, version)).spec
        self.watch(live, spec)


def _without_position(node: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in node.items() if k != "position"}


def register(ctx: AppContext) -> None:
    @ui.page("/graph/{graph_id}")
    async def editor_page(graph_id: str, run: str = "") -> None:
        try:
            stored = await ctx.workspace.graph(graph_id)
        except NotFound:
            with frame("Not found"):
                tag(ui.label(f"There is no saved graph {graph_id!r}."), "not-found")
                ui.link("Back to the graphs", "/")
            return
        editor = Editor(ctx, stored)
        editor.build()
        await editor.follow(run)


def routers_to_fill(graph: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(router id, its config with a route per label) for each router fed by a classifier's
    ``label`` whose routes differ from the labels' and none of whose outputs is wired yet."""
    from graphflow.nodes.classify import label_routes

    nodes = {n.get("id"): n for n in graph.get("nodes", ())}
    edges = graph.get("edges", ())
    wired = {e.get("source") for e in edges}
    found: list[tuple[str, dict[str, Any]]] = []
    for edge in edges:
        source, target = nodes.get(edge.get("source")), nodes.get(edge.get("target"))
        if not source or not target or source.get("kind") != "classify" or target.get("kind") != "router":
            continue
        labels = (source.get("config") or {}).get("labels")
        if edge.get("source_port") != "label" or not isinstance(labels, list) or target.get("id") in wired:
            continue
        config = dict(target.get("config") or {})
        routes = label_routes([str(label) for label in labels])
        if config.get("routes") != routes:
            found.append((str(target["id"]), {**config, "routes": routes}))
    return found
