"""``GraphCanvas``: the node-graph editor as a NiceGUI element (Vue Flow, vendored; see vendor/VENDORED.md).

Props in (kinds, the graph, resolved ports), methods through ``run_method``, typed events out.
The browser owns the graph while the page is open: every edit sends the whole graph back
(``on_change``), and ``graph`` is always the latest one received.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any, Self

from nicegui import ui
from nicegui.events import GenericEventArguments, Handler, handle_event

from graphflow.registry import Registry
from graphflow.state import EdgeState

from ..theme import add_theme
from .events import (
    ConnectRefusedEvent,
    GraphChangeEvent,
    MachineEventSent,
    NodeHeat,
    NodeView,
    RunEvent,
    SaveEvent,
    SelectEvent,
)
from .ports import PortsMap, node_ports, ports_for

HERE = Path(__file__).parent
VENDOR = {
    "@vue-flow/core": "vendor/vue-flow-core",
    "@vue-flow/background": "vendor/vue-flow-background",
    "@vue-flow/controls": "vendor/vue-flow-controls",
    "@vue-flow/minimap": "vendor/vue-flow-minimap",
    "@dagrejs/dagre": "vendor/dagre",
    "graphflow-canvas": "js",  # the canvas' own modules (layout, overlays), imported as graphflow-canvas/<file>
}


@cache
def _stylesheet() -> str:
    return (HERE / "canvas.css").read_text(encoding="utf-8")


class GraphCanvas(ui.element, component="canvas.js", esm=VENDOR, default_classes="gf-canvas"):
    def __init__(
        self,
        kinds: list[dict[str, Any]],
        graph: dict[str, Any],
        *,
        node_ports: PortsMap | None = None,
        registry: Registry | None = None,
        lazy: bool | None = None,
        readonly: bool = False,
        on_change: Handler[GraphChangeEvent] | None = None,
        on_select: Handler[SelectEvent] | None = None,
        on_connect_refused: Handler[ConnectRefusedEvent] | None = None,
        on_save: Handler[SaveEvent] | None = None,
        on_run: Handler[RunEvent] | None = None,
        on_machine_event: Handler[MachineEventSent] | None = None,
    ) -> None:
        """A graph editor: palette, draggable nodes with typed ports, run status overlays.

        :param kinds: ``NodeKind.describe()`` of each kind the palette offers and the nodes use
        :param graph: a GraphSpec JSON dict
        :param node_ports: ports by node id for kinds whose ports depend on config (see ``ports_for``)
        :param registry: when given, ``node_ports`` is computed with it (and again on ``update_node``)
        :param lazy: render only the nodes in view (Vue Flow's ``onlyRenderVisibleElements``); None: above 200 nodes
        :param readonly: a graph to look at (a stored version): no palette, nothing dragged, connected or deleted
        """
        super().__init__()
        add_theme()  # the canvas follows the app's theme choice
        self._registry = registry
        if node_ports is None and registry is not None:
            node_ports = ports_for(graph, registry)
        self._props["kinds"] = kinds
        self._props["graph"] = copy.deepcopy(graph)
        self._props["ports"] = node_ports or {}
        self._props["styles"] = _stylesheet()
        self._props["lazy"] = lazy
        self._props["readonly"] = readonly
        self._props["machineEvents"] = on_machine_event is not None
        self._props["runFrom"] = on_run is not None
        # Python's edits are numbered; the browser tags each graph it sends with the last one it had
        # applied. One sent before an edit arrived there is stale: its answer to the edit follows.
        self._sent = 0
        self._save_due: GenericEventArguments | None = None
        self._handlers: dict[str, list[Handler[Any]]] = {
            n: [] for n in ("change", "select", "refused", "save", "run", "machine")}
        self.on("graphChange", self._on_graph_change)
        self.on("select", lambda e: self._dispatch("select", SelectEvent, e, node_id=e.args.get("node_id"),
                                                     node_ids=list(e.args.get("node_ids") or [])))
        self.on("connectRefused", lambda e: self._dispatch("refused", ConnectRefusedEvent, e, **_refusal(e.args)))
        self.on("save", self._on_save)
        self.on("run", lambda e: self._dispatch("run", RunEvent, e, from_node=_text_or_none(e.args.get("from_node"))))
        self.on("machineEvent", lambda e: self._dispatch("machine", MachineEventSent, e,
                                                         node_id=str(e.args.get("node_id") or ""),
                                                         event=str(e.args.get("event") or "")))
        for name, handler in (("change", on_change), ("select", on_select), ("refused", on_connect_refused),
                              ("save", on_save), ("run", on_run), ("machine", on_machine_event)):
            if handler:
                self._handlers[name].append(handler)

    @property
    def graph(self) -> dict[str, Any]:
        """The latest graph: as given, or as last sent by the browser after an edit."""
        return self._props["graph"]

    # --- events: register handlers

    def on_change(self, handler: Handler[GraphChangeEvent]) -> Self:
        """Called with the whole graph after each edit (add, move, delete, connect, relabel, undo, ...)."""
        self._handlers["change"].append(handler)
        return self

    def on_select(self, handler: Handler[SelectEvent]) -> Self:
        self._handlers["select"].append(handler)
        return self

    def on_connect_refused(self, handler: Handler[ConnectRefusedEvent]) -> Self:
        self._handlers["refused"].append(handler)
        return self

    def on_save(self, handler: Handler[SaveEvent]) -> Self:
        """Ctrl+S (Cmd+S) inside the canvas."""
        self._handlers["save"].append(handler)
        return self

    def on_run(self, handler: Handler[RunEvent]) -> Self:
        """Ctrl+Enter inside the canvas, or "Run from here" on a node's menu (``from_node``)."""
        self._handlers["run"].append(handler)
        self._props["runFrom"] = True
        self.update()
        return self

    # --- commands: Python -> browser

    def set_graph(self, graph: dict[str, Any], node_ports: PortsMap | None = None) -> None:
        """Show another graph; clears the undo history and the run overlays."""
        if node_ports is None and self._registry is not None:
            node_ports = ports_for(graph, self._registry)
        self._props["graph"] = copy.deepcopy(graph)
        self.run_method("set_graph", graph, node_ports, self._next_seq())

    def replace_graph(self, graph: dict[str, Any], *, select: str | None = None) -> None:
        """The whole graph changed in Python (a node renamed, the graph's name): one undoable edit,
        answered by ``on_change``; ``select``: the node selected afterwards."""
        ports = ports_for(graph, self._registry) if self._registry is not None else None
        self._props["graph"] = copy.deepcopy(graph)
        self.run_method("replace_graph", graph, ports, select, self._next_seq())

    def update_node(self, node_id: str, *, label: str | None = None, config: Mapping[str, Any] | None = None,
                    ports: Mapping[str, list[dict[str, Any]]] | None = None,
                    fields: Mapping[str, Any] | None = None) -> None:
        """Edit a node (e.g. from a settings form): an undoable edit, answered by ``on_change``.
        ``fields`` sets other node options (timeout, retry, breaker, ...); None removes one."""
        if ports is None and config is not None and self._registry is not None:
            kind = next((n.get("kind") for n in self.graph.get("nodes", ()) if n.get("id") == node_id), None)
            ports = node_ports(kind, config, self._registry) if kind else None
        changes = {"label": label, "config": dict(config) if config is not None else None, "ports": ports,
                   "fields": dict(fields) if fields else None}
        self._apply_locally(node_id, label, config, fields)
        self.run_method("update_node", node_id, changes, self._next_seq())

    def _next_seq(self) -> int:
        self._sent += 1
        return self._sent

    def _stale(self, raw: GenericEventArguments) -> bool:
        """Sent by the browser before Python's latest edit reached it (events without ``seq`` are not)."""
        seq = raw.args.get("seq")
        return isinstance(seq, int) and seq < self._sent

    def _apply_locally(self, node_id: str, label: str | None, config: Mapping[str, Any] | None,
                       fields: Mapping[str, Any] | None) -> None:
        """``graph`` reflects the edit at once; the browser's ``on_change`` confirms it."""
        for node in self._props["graph"].get("nodes", []):
            if node.get("id") != node_id:
                continue
            if label is not None:
                node["label"] = label
            if config is not None:
                node["config"] = copy.deepcopy(dict(config))
            for key, value in (fields or {}).items():
                if key in ("id", "kind", "position"):
                    continue
                if value is None:
                    node.pop(key, None)
                else:
                    node[key] = copy.deepcopy(value)

    def set_node_status(self, node_id: str, status: NodeView | None) -> None:
        self.run_method("set_node_status", node_id, status)

    def set_statuses(self, statuses: Mapping[str, NodeView | None]) -> None:
        """Many statuses at once; the browser applies them at most once per animation frame."""
        self.run_method("set_statuses", dict(statuses))

    def reset_statuses(self) -> None:
        self.run_method("reset_statuses")

    def set_edge_states(self, states: Mapping[str, EdgeState | None]) -> None:
        """Taken edges are drawn solid and animated, untaken ones dashed grey; None clears."""
        self.run_method("set_edge_states", dict(states))

    def set_problems(self, problems: Mapping[str, list[str]]) -> None:
        """Validation problems by node id; replaces the previous set."""
        self.run_method("set_problems", {k: list(v) for k, v in problems.items()})

    def set_heat(self, heat: Mapping[str, NodeHeat]) -> None:
        """Run statistics by node id; replaces the previous set."""
        self.run_method("set_heat", dict(heat))

    def fit_view(self) -> None:
        """The whole graph in view, however small (a graph opens at a readable zoom instead: whole when it fits
        at 75 % or more, else its start at 75 %)."""
        self.run_method("fit_view")

    def auto_layout(self) -> None:
        """Lay the graph out in layers, left to right (dagre): one undoable edit, answered by ``on_change``
        with reason "layout". A graph whose nodes have no positions (all on one point) is laid out on its own."""
        self.run_method("auto_layout")

    def undo(self) -> None:
        self.run_method("undo")

    def redo(self) -> None:
        self.run_method("redo")

    # --- raw JS events -> typed events

    def _dispatch(self, name: str, event_type: Callable[..., Any], raw: GenericEventArguments, **fields: Any) -> None:
        event = event_type(sender=self, client=raw.client, **fields)
        for handler in list(self._handlers[name]):
            handle_event(handler, event)

    def _on_graph_change(self, raw: GenericEventArguments) -> None:
        if self._stale(raw):
            return  # it lacks an edit ``graph`` has; the browser's answer to that edit includes this one
        graph = raw.args["graph"]
        self._props["graph"] = graph
        self._dispatch("change", GraphChangeEvent, raw, graph=graph, reason=str(raw.args.get("reason") or "edit"))
        if self._save_due is not None:
            self._save_due, due = None, self._save_due
            self._dispatch("save", SaveEvent, due, graph=graph)

    def _on_save(self, raw: GenericEventArguments) -> None:
        if self._stale(raw):
            self._save_due = raw  # saved with the browser's answer, which has every edit
            return
        self._props["graph"] = raw.args["graph"]
        self._dispatch("save", SaveEvent, raw, graph=raw.args["graph"])


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _refusal(args: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("source", "source_port", "target", "target_port")
    return {"reason": str(args.get("reason", "")), **{k: args.get(k) for k in keys}}
