"""The editor's settings panel: the selected node's settings (its id too: renaming it takes its
edges along), or with no node selected the graph's own name and description.

Settings typed and not applied are never dropped silently: selecting another node applies
them when they are valid, and otherwise keeps the form (errors at their fields) until they
are fixed or discarded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nicegui import ui

from .frame import tag
from .graph_edits import node_id_problem, rename_node, with_details
from .settings_form import SettingsForm, show_error

if TYPE_CHECKING:
    from .editor import Editor


def _without_position(node: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in node.items() if k != "position"}


class NodePanel:
    def __init__(self, editor: Editor, box: ui.column) -> None:
        self.editor = editor
        self.box = box
        self.selected: str | None = None
        self.form: SettingsForm | None = None
        self.node_id: ui.input | None = None
        self.details: tuple[ui.input, ui.textarea] | None = None

    def node(self, node_id: str | None) -> dict[str, Any] | None:
        return next((n for n in self.editor.graph.get("nodes", ()) if n.get("id") == node_id), None)

    # --- what is shown

    def select(self, node_id: str | None) -> None:
        if node_id == self.shown:
            return
        if self.pending():
            if not self.apply_pending():
                ui.notify(f"the settings of {self.shown} were not applied: fix them (shown at their fields) "
                          "or discard them", type="warning")
                return
            ui.notify(f"applied your edits to {self.shown}", type="info")
        self.selected = node_id
        self.show()

    def reset(self) -> None:
        self.selected = None
        self.show()

    @property
    def shown(self) -> str | None:
        return self.form.node["id"] if self.form is not None else None

    def graph_changed(self) -> None:
        """The graph changed on the canvas: a form whose node changed there is shown afresh."""
        if self.form is not None:
            node = self.node(self.form.node["id"])
            if node is None or _without_position(node) != _without_position(self.form.node):
                self.show()
        elif self.details is not None:
            name, description = self.details
            if (name.value, description.value) != (self.editor.graph.get("name", ""),
                                                   self.editor.graph.get("description", "")):
                self.show()

    def show(self) -> None:
        self.box.clear()
        self.form, self.node_id, self.details = None, None, None
        node = self.node(self.selected) if self.selected else None
        with self.box:
            if node is None:
                self.show_details()
                return
            kind = self.editor.kinds.get(node.get("kind", ""))
            with ui.row().classes("full-width items-center no-wrap"):
                ui.label((kind or {}).get("title") or node.get("kind", "")).classes("gf-muted")
                ui.space()
                tag(ui.button("Discard", on_click=self.discard).props("flat dense size=sm"), "discard-settings")
                tag(ui.button("Apply", icon="check", on_click=self.apply).props("dense"), "apply-settings")
            self.node_id = tag(ui.input("Id", value=str(node.get("id", ""))).props("dense").classes("full-width"),
                               "node-id")
            view = self.editor.run_view
            record = view.state.nodes.get(node["id"]) if view is not None else None
            if record is not None and record.error:  # the card clamps it: the whole text is here
                status = "degraded" if record.degraded else record.status
                tag(ui.label(f"{status}: {record.error}").classes("gf-problem gf-mono")
                    .style("overflow-wrap: anywhere"), "node-error")
            self.form = SettingsForm(node, kind, {"function": sorted(self.editor.ctx.registry.functions)})

    def show_details(self) -> None:
        graph = self.editor.graph
        ui.label("Select a node to edit its settings.").classes("gf-muted")
        with ui.row().classes("full-width items-center no-wrap"):
            ui.label("This graph").style("font-weight: 600")
            ui.space()
            tag(ui.button("Apply", icon="check", on_click=self.apply_details).props("dense"), "apply-details")
        name = tag(ui.input("Name", value=str(graph.get("name", ""))).props("dense").classes("full-width"),
                   "graph-name")
        description = tag(ui.textarea("Description", value=str(graph.get("description", "")))
                          .props("dense autogrow").classes("full-width"), "graph-description")
        self.details = (name, description)  # type: ignore[assignment]

    # --- applying

    def pending(self) -> bool:
        if self.form is not None:
            return self.form.pending() or (self.node_id is not None and self.node_id.value != self.shown)
        if self.details is not None:
            name, description = self.details
            return (name.value or "", description.value or "") != (self.editor.graph.get("name", ""),
                                                                   self.editor.graph.get("description", ""))
        return False

    def apply_pending(self) -> bool:
        """Apply what was typed, if anything; False when it has errors (then nothing is applied)."""
        if not self.pending():
            return True
        return self.apply() if self.form is not None else self.apply_details()

    def discard(self) -> None:
        self.show()

    def apply_details(self) -> bool:
        if self.details is None:
            return True
        name, description = self.details
        graph = with_details(self.editor.graph, str(name.value or "").strip(), str(description.value or "").strip())
        if graph != self.editor.graph:
            self.editor.canvas.replace_graph(graph)
            self.editor.changed(graph)
        return True

    def apply(self) -> bool:
        if self.form is None:
            return True
        old = self.form.node
        new, _ = self.form.read()  # the form shows its own errors
        new_id = str(self.node_id.value if self.node_id is not None else old["id"]).strip()
        problem = node_id_problem(self.editor.graph, old["id"], new_id)
        if self.node_id is not None:
            show_error(self.node_id, problem)
        current = self.node(old["id"])
        if new is None or current is None or problem is not None:
            return False
        edited = {k for k in set(old) | set(new) if old.get(k) != new.get(k)}
        node = {k: v for k, v in current.items() if k not in edited} | {k: new[k] for k in edited if k in new}
        graph = {**self.editor.graph, "nodes": [node if n.get("id") == node["id"] else n
                                                for n in self.editor.graph["nodes"]]}
        if new_id != old["id"]:
            graph = rename_node(graph, old["id"], new_id)
            self.selected = new_id
            self.form.node = {**node, "id": new_id}
            self.editor.canvas.replace_graph(graph, select=new_id)
            self.editor.changed(graph)
            return True
        others = {k: node.get(k) for k in edited - {"label", "config"}}  # None removes an option
        self.editor.canvas.update_node(node["id"], label=node.get("label", ""), config=node.get("config") or {},
                                       fields=others)
        self.form.node = node
        self.editor.changed(graph)
        return True
