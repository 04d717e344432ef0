"""The editor's questions: what RUN should run when there are unsaved edits, and what to do
when a save would go over a version saved meanwhile (another tab, another process)."""

from __future__ import annotations

from typing import Literal

from nicegui import ui

from graphflow.errors import VersionConflict

from .frame import tag

RunChoice = Literal["save", "saved", "cancel"]
ConflictChoice = Literal["overwrite", "open", "keep"]


async def ask(title: str, lines: list[str], buttons: list[tuple[str, str, str]], testid: str) -> str:
    """A dialog with one button per ``(answer, text, props)``; the answer, or the last one when dismissed."""
    with ui.dialog() as dialog, tag(ui.card().style("max-width: 520px"), testid):
        ui.label(title).style("font-weight: 600")
        for line in lines:
            ui.label(line)
        with ui.row().classes("full-width justify-end q-gutter-sm"):
            for answer, text, props in buttons:
                tag(ui.button(text, on_click=lambda a=answer: dialog.submit(a)).props(props), f"{testid}-{answer}")
    answer = await dialog
    if not dialog.is_deleted:  # deleted with its page when the tab closed
        dialog.delete()
    return str(answer or buttons[-1][0])


async def ask_before_run(version: int, problems: int) -> RunChoice:
    """Unsaved edits: RUN runs a saved version, so save them first, run the saved one, or neither."""
    if problems:
        lines = [f"Run runs a saved version. The edits have {problems} problem{'s' if problems != 1 else ''} "
                 "(see Problems), so they cannot be saved as a version yet.",
                 f"Run version {version} as it was saved, without the edits?"]
        buttons = [("saved", f"Run version {version}", "color=positive"), ("cancel", "Cancel", "flat")]
    else:
        lines = ["Run runs a saved version, and these edits are not saved yet."]
        buttons = [("save", "Save and run", "color=positive"), ("saved", f"Run version {version} (without the edits)",
                                                                  "outline"), ("cancel", "Cancel", "flat")]
    answer = await ask("Unsaved edits", lines, buttons, "run-choice")
    return "save" if answer == "save" else "saved" if answer == "saved" else "cancel"


async def ask_on_conflict(conflict: VersionConflict) -> ConflictChoice:
    lines = [f"Version {conflict.latest} of this graph was saved after version {conflict.base_version}, "
             "which your edits started from (another tab or window?).",
             f"Overwrite keeps version {conflict.latest} in the history and saves your edits as a newer version. "
             f"Opening version {conflict.latest} drops your edits."]
    buttons = [("overwrite", "Overwrite as a new version", "color=negative"),
               ("open", f"Open version {conflict.latest}", "outline"), ("keep", "Keep editing", "flat")]
    answer = await ask("A newer version was saved", lines, buttons, "conflict")
    return "overwrite" if answer == "overwrite" else "open" if answer == "open" else "keep"
