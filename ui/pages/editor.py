"""The editor (``/graph/{graph_id}``): the canvas, a settings panel for the selected node (or,
with none selected, the graph's name and description), validation problems on the nodes and
in a list, save, and runs watched live (``live.py``).

No lost work: every edit is autosaved as the graph's draft (``DraftStore``: one per graph, not a
version, kept across restarts) and restored, with a notice, when the editor opens again. Save
makes a new version when the graph is valid; with problems it keeps the draft and says why it
is no version. A save over a version saved meanwhile (another tab) asks first. Leaving the page
with unsaved edits asks first too (``page_keys.py``, also Ctrl+S anywhere on the page).

RUN runs a saved version, never unsaved edits: with edits it asks to save them first. So does
"Run from here" on a node's menu, which reuses an earlier run's outputs for every node not downstream.
"""

from __future__ import annotations

import contextlib
from typing import Any

from nicegui import background_tasks, ui

from graphflow.compile import CompiledGraph
from graphflow.errors import GraphValidationError, Problem, VersionConflict
from graphflow.formatting import when
from graphflow.model import GraphSpec
from graphflow.ports import Draft, GraphVersion, NotFound
from graphflow.service import RunRefused
from graphflow.validate import spec_from_data

from ..canvas import GraphCanvas
from ..canvas.events import GraphChangeEvent, MachineEventSent, RunEvent, SaveEvent, SelectEvent
from ..context import AppContext, LiveRun
from .chat import ChatPanel
from .editor_dialogs import ask_before_run, ask_on_conflict
from .frame import frame, set_title, tag
from .live import RunView, ask_inputs
from .node_panel import NodePanel
from .page_keys import PageKeys

AUTOSAVE_SECONDS = 1.0
"""Edits are written to the draft at most this long after they are made (and when the tab goes)."""


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


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' if count != 1 else ''}"


class Editor:
    """One browser tab's editor state: nothing here is shared with another tab."""

    def __init__(self, ctx: AppContext, stored: GraphVersion, *, draft: Draft | None = None,
                 latest: int | None = None) -> None:
        """``stored``: the version the edits start from; ``draft``: edits restored on top of it."""
        self.ctx = ctx
        self.graph_id = stored.graph_id
        self.version = stored.version
        self.saved = stored.spec
        self.latest = latest or stored.version
        self.graph: dict[str, Any] = draft.graph if draft else stored.spec.model_dump(mode="json")
        self.restored = draft
        self.has_draft = draft is not None
        self.draft_due = False
        self.kinds = {name: kind.describe() for name, kind in ctx.registry.kinds.items()}
        self.compiled: CompiledGraph | None = None
        self.problems: list[Problem] = []
        self.run_view: RunView | None = None

    # --- layout

    def build(self) -> None:
        with frame(self.saved.name or self.graph_id, graph_id=self.graph_id, here="editor"):
            with ui.row().classes("items-center full-width q-gutter-sm no-wrap"):
                self.version_label = tag(ui.label().classes("gf-muted"), "version")
                self.notice = tag(ui.row().classes("items-center q-gutter-xs no-wrap"), "draft-notice")
                ui.space()
                for name, icon, tip in (("undo", "undo", "Undo (Ctrl+Z)"), ("redo", "redo", "Redo (Ctrl+Y)"),
                                        ("fit", "fit_screen", "Fit the graph in view")):
                    tag(ui.button(icon=icon, on_click=lambda name=name: self.canvas_action(name))
                        .props("flat dense").tooltip(tip), name)
                tag(ui.button("Save", icon="save", on_click=self.save).props("dense")
                    .tooltip("Save a new version (Ctrl+S); with problems, keep the draft"), "save")
                tag(ui.button("Run", icon="play_arrow", on_click=self.run).props("color=positive dense")
                    .tooltip("Run the saved version (Ctrl+Enter on the canvas)"), "run")
            with ui.row().classes("full-width no-wrap gf-fill").style("gap: 12px; align-items: stretch"):
                self.canvas = GraphCanvas(list(self.kinds.values()), self.graph, registry=self.ctx.registry,
                                          on_change=self.on_change, on_select=self.on_select,
                                          on_save=self.on_save, on_run=self.on_run,
                                          on_machine_event=self.send_event)
                self.canvas.style("flex: 1; height: 100%; min-width: 0")
                with ui.column().style("width: 380px; flex: none; height: 100%; overflow: auto"):
                    with ui.tabs().classes("full-width") as tabs:
                        self.tab_settings = ui.tab("Settings")
                        self.tab_problems = tag(ui.tab("Problems"), "problems-tab")
                        self.tab_run = ui.tab("Run")
                        self.tab_chat = tag(ui.tab("Chat"), "chat-tab")
                    self.tabs = tabs
                    with ui.tab_panels(tabs, value=self.tab_settings).classes("full-width"):
                        with ui.tab_panel(self.tab_settings):
                            self.panel = NodePanel(self, tag(ui.column().classes("full-width"), "settings"))
                        with ui.tab_panel(self.tab_problems):
                            self.problem_list = tag(ui.column().classes("full-width q-gutter-xs"), "problems")
                        with ui.tab_panel(self.tab_run):
                            with tag(ui.column().classes("full-width"), "run-panel") as self.run_panel:
                                ui.label("No run yet: press Run (Ctrl+Enter on the canvas).").classes("gf-muted")
                        with ui.tab_panel(self.tab_chat):
                            self.chat = ChatPanel(self.ctx, self.graph_id, self.prepare_chat,
                                                  lambda live, spec: self.watch(live, spec, switch=False))
        self.validate()
        self.keys = PageKeys(self.save_shortcut, dirty=self.dirty)
        self.panel.show()
        self.show_notice()
        ui.timer(AUTOSAVE_SECONDS, self.autosave)
        ui.context.client.on_disconnect(lambda: background_tasks.create(self.autosave(), name="draft at leave"))

    def show_notice(self) -> None:
        self.notice.clear()
        if self.restored is None:
            return
        with self.notice:
            newer = f"; version {self.latest} was saved since" if self.latest > self.version else ""
            tag(ui.label(f"Restored your unsaved draft from {when(self.restored.saved_at)} "
                         f"(edited from version {self.version}{newer}).").classes("gf-notice"), "draft-restored")
            tag(ui.button("Discard", on_click=self.discard_draft).props("flat dense size=sm color=negative"),
                "discard-draft")

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
        self.draft_due = True
        self.validate()
        self.panel.graph_changed()

    def validate(self) -> None:
        """Compile the graph being edited (the one compile its save then reuses)."""
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

    @property
    def dirty(self) -> bool:
        """The graph differs from the version it was edited from (moves count: they are saved)."""
        return self.compiled.spec != self.saved if self.compiled else not same_spec(self.graph, self.saved)

    def show_version(self) -> None:
        dirty = self.dirty
        self.version_label.text = f"version {self.version}" + (" · unsaved changes" if dirty else "")
        if hasattr(self, "keys"):
            self.keys.dirty = dirty

    def on_select(self, event: SelectEvent) -> None:
        self.panel.select(event.node_id)
        if event.node_id:
            self.tabs.set_value(self.tab_settings)

    # --- drafts

    async def autosave(self) -> None:
        """Write the edits to the graph's draft (or drop the draft once they are undone)."""
        if not self.draft_due:
            return
        self.draft_due = False
        try:
            if self.dirty:
                await self.ctx.workspace.keep_draft(self.graph_id, self.version, self.graph)
                self.has_draft = True
            elif self.has_draft:
                await self.ctx.workspace.discard_draft(self.graph_id)
                self.has_draft = False
        except NotFound:  # the graph was deleted (another tab): nothing to keep it under
            pass
        except ValueError as exc:
            with contextlib.suppress(RuntimeError):  # the tab is gone
                ui.notify(f"the draft could not be kept: {exc}", type="negative")

    async def discard_draft(self) -> None:
        await self.open_latest()
        ui.notify("draft discarded")

    async def open_latest(self) -> None:
        """Show the latest version, dropping the edits (and the draft)."""
        stored = await self.ctx.workspace.graph(self.graph_id)
        self.version, self.saved, self.latest = stored.version, stored.spec, stored.version
        self.graph = stored.spec.model_dump(mode="json")
        self.restored, self.draft_due = None, False
        self.canvas.set_graph(self.graph)
        await self.ctx.workspace.discard_draft(self.graph_id)
        self.has_draft = False
        self.validate()
        self.panel.reset()  # what was typed there belongs to the edits just dropped
        self.show_notice()
        set_title(stored.spec.name or self.graph_id)

    # --- saving

    async def on_save(self, event: SaveEvent) -> None:
        self.changed(event.graph)
        await self.save()

    async def save_shortcut(self) -> None:
        """Ctrl+S anywhere: settings typed and not applied yet are applied first."""
        if not self.panel.apply_pending():
            ui.notify("not saved: the settings have errors (shown at their fields)", type="negative")
            return
        await self.save()

    async def save(self, announce: bool = True) -> GraphVersion | None:
        """A new version when the graph is valid and changed; with problems, the draft (and why)."""
        if self.compiled is None:
            self.draft_due = True
            await self.autosave()
            ui.notify(f"kept as a draft, not saved as a version: {plural(len(self.problems), 'problem')} "
                      "(see Problems); a draft cannot run", type="warning")
            self.tabs.set_value(self.tab_problems)
            return None
        base = self.version
        while True:
            try:
                stored = await self.ctx.workspace.save(self.compiled, base_version=base)
                break
            except VersionConflict as conflict:
                choice = await ask_on_conflict(conflict)
                if choice == "keep":
                    return None
                if choice == "open":
                    await self.open_latest()
                    return None
                base = conflict.latest  # overwrite: one more version, the other stays in the history
        if stored.version != self.version:
            ui.notify(f"saved version {stored.version}", type="positive")
        elif announce:
            ui.notify(f"no changes since version {stored.version}")
        self.version, self.saved, self.latest = stored.version, stored.spec, stored.version
        self.restored, self.draft_due = None, False
        if self.has_draft:
            await self.ctx.workspace.discard_draft(self.graph_id)
            self.has_draft = False
        self.show_notice()
        self.show_version()
        set_title(stored.spec.name or self.graph_id)
        return stored

    # --- running

    async def on_run(self, event: RunEvent) -> None:
        """Ctrl+Enter on the canvas, or "Run from here" on a node's menu."""
        await (self.run() if event.from_node is None else self.run_from(event.from_node))

    async def ready_to_run(self) -> bool:
        """No run going on here, and the saved version is the one to run: with unsaved edits, ask to
        save them first (or run without them); False when the user said no or the save failed."""
        if self.run_view is not None and not self.run_view.finished:
            ui.notify("a run is going on: stop it first")
            return False
        if self.panel.pending():
            self.panel.apply_pending()
        if self.dirty:
            choice = await ask_before_run(self.version, 0 if self.compiled else len(self.problems))
            if choice == "cancel":
                return False
            if choice == "save" and await self.save(announce=False) is None:
                return False
        return True

    async def run(self) -> None:
        """Run the saved version; with unsaved edits, ask to save them first (or run without them)."""
        if not await self.ready_to_run():
            return
        version, spec = self.version, self.saved
        compiled, problems = self.ctx.workspace.check(spec)
        if compiled is None:
            ui.notify(f"version {version} does not validate here: {problems[0]}", type="negative")
            return
        inputs = await ask_inputs(compiled)
        if inputs is None:
            return
        ui.notify(f"running version {version}")
        self.watch(self.ctx.runs.start(self.graph_id, inputs, version=version), spec, version)

    async def run_from(self, node_id: str) -> None:
        """Run the saved version from a node: it and its descendants run again, every other node's
        output (and the inputs) come from the latest earlier run they fit, or a refusal says why not."""
        if not await self.ready_to_run():
            return
        try:
            plan = await self.ctx.workspace.plan_from(self.graph_id, node_id, version=self.version)
        except (RunRefused, NotFound) as exc:
            ui.notify(f"cannot run from {node_id!r}: {exc}", type="warning", multi_line=True, timeout=12000)
            return
        ui.notify(f"running version {plan.graph.version} from {node_id!r}: {plural(len(plan.rerun), 'node')} run "
                  f"again, {len(plan.reused)} reused from run {plan.earlier.run_id} (with its inputs)")
        self.watch(self.ctx.runs.start_from(plan), plan.graph.spec, plan.graph.version)

    async def send_event(self, event: MachineEventSent) -> None:
        """A state machine card's button: the event goes to the run on the canvas, which goes on here."""
        view = self.run_view
        if view is None or view.live is None or view.state.status != "waiting":
            ui.notify("no run on the canvas is waiting for an event")
            return
        run_id = view.live.run_id
        try:
            await self.ctx.runs.send(run_id, event.event, by="canvas")
        except RunRefused as exc:
            ui.notify(str(exc), type="warning")
            return
        live = self.ctx.runs.get(run_id)
        if live is not None:
            view.follow(live, continuing=True)

    async def prepare_chat(self) -> tuple[GraphVersion, CompiledGraph] | None:
        """For the chat panel: the saved version to run (saving first), None when invalid."""
        stored = await self.save(announce=False)
        return None if stored is None or self.compiled is None else (stored, self.compiled)

    def watch(self, live: LiveRun, spec: GraphSpec, version: int | None = None, switch: bool = True) -> None:
        self.run_panel.clear()
        if switch:
            self.tabs.set_value(self.tab_run)
        with self.run_panel:
            tag(ui.label(f"run {live.run_id}" + (f" · version {version}" if version else "")).classes("gf-muted"),
                "run-id")
        self.run_view = RunView(self.canvas, spec, self.run_panel, self.ctx.workspace.breaker_states(),
                                successor=self.ctx.runs.get, stored=self.ctx.workspace.events)
        self.run_view.on_resume = lambda: self.resume_paused(live.run_id, spec)
        self.run_view.follow(live)

    async def resume_paused(self, run_id: str, spec: GraphSpec) -> None:
        """Continue a paused run as a new live run, followed here."""
        if self.ctx.runs.continue_woken(run_id, self.graph_id):
            live = self.ctx.runs.get(run_id)
            if live is not None:
                self.watch(live, spec)

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
        self.watch(live, spec, version)


async def open_editor(ctx: AppContext, graph_id: str) -> Editor | None:
    """The editor on the latest version, or on the graph's draft (restored) when it has one."""
    try:
        latest = await ctx.workspace.graph(graph_id)
    except NotFound:
        return None
    draft = await ctx.workspace.draft(graph_id)
    if draft is not None and (not isinstance(draft.graph.get("nodes", []), list) or same_spec(draft.graph,
                                                                                              latest.spec)):
        await ctx.workspace.discard_draft(graph_id)  # nothing in it that is not saved
        draft = None
    if draft is None:
        return Editor(ctx, latest)
    base = latest
    if draft.base_version != latest.version:
        with contextlib.suppress(NotFound):
            base = await ctx.workspace.graph(graph_id, draft.base_version)
    return Editor(ctx, base, draft=draft, latest=latest.version)


def register(ctx: AppContext) -> None:
    @ui.page("/graph/{graph_id}")
    async def editor_page(graph_id: str, run: str = "") -> None:
        editor = await open_editor(ctx, graph_id)
        if editor is None:
            with frame("Not found"):
                tag(ui.label(f"There is no saved graph {graph_id!r}."), "not-found")
                ui.link("Back to the graphs", "/")
            return
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
