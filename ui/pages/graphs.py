"""The graph list (``/``): the stored graphs with open, rename, duplicate, export and delete;
a new graph; import of a JSON file, validated first (nothing is stored when it fails)."""

from __future__ import annotations

from nicegui import events, ui

from graphflow.errors import GraphValidationError, NotFound, Problem
from graphflow.formatting import when
from graphflow.ports import GraphSummary
from graphflow.validate import MAX_BYTES

from ..context import AppContext
from ..plugin_watch import reload_now
from .frame import ask_text, confirm, frame, tag


def problem_line(problem: Problem) -> str:
    """``[code] node 'x': message``: the code and the node or edge it is about."""
    return str(problem)


def rejection(entries: object) -> str:
    """Why the browser refused a file (Quasar's ``rejected`` entries: [name, failed check])."""
    reasons = {"accept": "only .json graph files can be imported",
               "max-file-size": f"the limit is {MAX_BYTES:,} bytes"}
    parts = [f"{name}: {reasons.get(check, check)}" for name, check in entries if isinstance(name, str)] \
        if isinstance(entries, list) and all(isinstance(e, list) and len(e) == 2 for e in entries) else []
    return "not imported: " + ("; ".join(parts) or "the file was refused")


def register(ctx: AppContext) -> None:
    workspace = ctx.workspace

    @ui.page("/")
    async def graph_list() -> None:
        with frame("Graphs"):
            with ui.row().classes("items-center q-gutter-sm"):
                ui.button("New graph", icon="add", on_click=lambda: new_graph()).mark("new-graph")
                if ctx.reload_plugins:
                    ui.button("Reload plugins", icon="refresh", on_click=lambda: reload_plugins()) \
                        .props("flat").mark("reload-plugins")
                # the server enforces the size too (ui/security.py), while reading the body
                ui.upload(label="Import JSON", auto_upload=True, max_file_size=MAX_BYTES,
                          on_upload=lambda e: import_file(e)) \
                    .props('accept=".json,application/json" flat bordered') \
                    .classes("gf-upload").style("width: 260px").mark("import") \
                    .on("rejected", lambda e: ui.notify(rejection(e.args), type="negative"),
                        js_handler="(entries) => emit(entries.map((e) => [e.file.name, e.failedPropValidation]))")
            problems = tag(ui.column().classes("q-gutter-xs"), "import-problems")
            listing = ui.column().classes("full-width").style("gap: 0")

        def reload_plugins() -> None:
            ok, message = reload_now(ctx.registry)
            ui.notify(message if ok else f"plugins not reloaded (the previous code stays): {message}",
                      type="positive" if ok else "negative", multi_line=True)

        async def reload() -> None:
            show(await workspace.graphs())

        def show(rows: list[GraphSummary]) -> None:
            listing.clear()
            with listing:
                if not rows:
                    ui.label("No graphs yet: create one or import a JSON file.").classes("gf-muted")
                    return
                with ui.grid(columns="minmax(160px, 2fr) minmax(120px, 1.5fr) 70px 60px 130px auto") \
                        .classes("full-width items-center").style("gap: 4px 12px"):
                    for head in ("Name", "Id", "Versions", "Runs", "Updated", ""):
                        ui.label(head).classes("gf-muted")
                    for row in rows:
                        graph_row(row)

        def graph_row(row: GraphSummary) -> None:
            saved = row.latest_version > 0
            if saved:
                tag(ui.link(row.name or row.graph_id, f"/graph/{row.graph_id}").classes("gf-row-cell"),
                    "graph-link", graph_id=row.graph_id)
            else:
                ui.label(row.name or row.graph_id).classes("gf-row-cell")
            ui.label(row.graph_id).classes("gf-row-cell gf-muted")
            ui.label(str(row.latest_version))
            ui.label(str(row.runs))
            ui.label(when(row.updated_at, seconds=False)).classes("gf-muted")
            with tag(ui.row().classes("q-gutter-xs no-wrap"), "graph-actions", graph_id=row.graph_id):
                actions = [("open", "Open", lambda: ui.navigate.to(f"/graph/{row.graph_id}")),
                           ("rename", "Rename", lambda: rename_graph(row)),
                           ("duplicate", "Duplicate", lambda: duplicate_graph(row)),
                           ("export", "Export", lambda: export_graph(row.graph_id))]
                for action, text, handler in actions:
                    ui.button(text, on_click=handler).props(f"flat dense size=sm data-action={action}") \
                        .mark(f"{action}-{row.graph_id}").set_enabled(saved)
                ui.button("Delete", on_click=lambda: delete_graph(row)) \
                    .props("flat dense size=sm color=negative data-action=delete").mark(f"delete-{row.graph_id}")

        async def new_graph() -> None:
            name = await ask_text("New graph", "Name")
            if name:
                stored = await workspace.create(name)
                ui.navigate.to(f"/graph/{stored.graph_id}")

        async def rename_graph(row: GraphSummary) -> None:
            name = await ask_text(f"Rename {row.graph_id}", "New name", row.name, ok="Rename")
            if name and name != row.name:
                stored = await workspace.rename(row.graph_id, name)
                ui.notify(f"renamed: version {stored.version}")
                await reload()

        async def duplicate_graph(row: GraphSummary) -> None:
            name = await ask_text(f"Duplicate {row.graph_id}", "Name of the copy", f"{row.name} (copy)",
                                  ok="Duplicate")
            if name:
                stored = await workspace.duplicate(row.graph_id, name)
                ui.notify(f"duplicated as {stored.graph_id}")
                await reload()

        async def delete_graph(row: GraphSummary) -> None:
            runs = f" and its {row.runs} run{'s' if row.runs != 1 else ''}" if row.runs else ""
            if await confirm(f"Delete {row.name or row.graph_id} ({row.graph_id}){runs}?"):
                try:
                    await workspace.delete(row.graph_id)
                except NotFound:
                    pass  # deleted meanwhile (another tab)
                ui.notify(f"deleted {row.graph_id}")
                await reload()

        async def export_graph(graph_id: str) -> None:
            _, text = await workspace.export(graph_id)
            ui.download.content(text.encode(), f"{graph_id}.json", "application/json")

        async def import_file(event: events.UploadEventArguments) -> None:
            problems.clear()
            if not event.file.name.lower().endswith(".json"):
                with problems:
                    tag(ui.label(f"{event.file.name} was not imported: only .json graph files can be imported")
                        .classes("gf-problem"), "import-problem", code="not_json")
                event.sender.reset()  # type: ignore[attr-defined]
                return
            try:
                stored = await workspace.import_graph(await event.file.read())
            except GraphValidationError as exc:
                with problems:
                    ui.label(f"{event.file.name} was not imported ({len(exc.problems)} problem"
                             f"{'s' if len(exc.problems) != 1 else ''}):").classes("gf-problem")
                    for problem in exc.problems:
                        tag(ui.label(problem_line(problem)).classes("gf-problem gf-mono"), "import-problem",
                            code=problem.code)
            else:
                ui.notify(f"imported {stored.graph_id} version {stored.version}", type="positive")
                await reload()
            event.sender.reset()  # type: ignore[attr-defined]

        await reload()
