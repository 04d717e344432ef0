"""The layout every page shares: a header with the way home, the page title, and a content column.

Pages render user text (graph names, labels, errors, outputs) only through text elements
(``ui.label``, ``ui.log``), never ``ui.html``, ``ui.code`` or markdown (``ui.code`` is markdown
underneath: a value with U+2028 closes its fence).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from nicegui import ui

CSS = """
.gf-header { background: #1f2937; color: #f9fafb; }
.gf-brand { color: #f9fafb !important; font-weight: 600; text-decoration: none; font-size: 1.1rem; }
.gf-title { font-size: 1.05rem; opacity: .9; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.gf-content { padding: 12px 16px; gap: 12px; width: 100%; }
.gf-muted { color: #6b7280; font-size: .85rem; }
.gf-problem { color: #b91c1c; font-size: .85rem; }
.gf-mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: .8rem; white-space: pre-wrap; }
.gf-row-cell { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.gf-upload .q-uploader__list, .gf-upload .q-uploader__subtitle { display: none; }
/* long log lines and output values wrap in their box instead of running out of it */
.nicegui-log { overflow-x: hidden; }
.nicegui-log > * { white-space: pre-wrap; overflow-wrap: anywhere; }
.gf-output { overflow-wrap: anywhere; background: #f3f4f6; padding: 6px 8px; border-radius: 4px; }
"""


@contextmanager
def frame(title: str, *, nav: bool = True) -> Iterator[ui.column]:
    """``with frame("Graphs"):`` lays out a page; the body goes into the yielded column."""
    ui.page_title(f"{title} · graphflow")
    ui.add_css(CSS)
    with ui.header().classes("gf-header items-center q-px-md q-py-sm"):
        ui.link("graphflow", "/").classes("gf-brand").props('data-testid="home"')
        ui.label(title).classes("gf-title").props('data-testid="page-title"')
        if nav:
            ui.space()
            ui.link("Graphs", "/").classes("gf-brand").style("font-size: .9rem; font-weight: 400")
            ui.link("Credentials", "/settings/credentials").classes("gf-brand") \
                .style("font-size: .9rem; font-weight: 400; margin-left: 12px")
    with ui.column().classes("gf-content") as content:
        yield content


async def ask_text(title: str, label: str, value: str = "", *, ok: str = "OK") -> str | None:
    """A small dialog with one text field; the stripped text, or None when cancelled or empty."""
    with ui.dialog() as dialog, ui.card().style("min-width: 360px"):
        ui.label(title).style("font-weight: 600")
        field = ui.input(label, value=value).props("autofocus").classes("full-width").mark("dialog-input")
        field.on("keydown.enter", lambda: dialog.submit(field.value))
        with ui.row().classes("full-width justify-end"):
            ui.button("Cancel", on_click=lambda: dialog.submit(None)).props("flat")
            ui.button(ok, on_click=lambda: dialog.submit(field.value)).mark("dialog-ok")
    answer = await dialog
    if not dialog.is_deleted:  # deleted with its page when the tab closed
        dialog.delete()
    text = (answer or "").strip()
    return text or None


async def confirm(message: str, *, ok: str = "Delete") -> bool:
    with ui.dialog() as dialog, ui.card():
        ui.label(message)
        with ui.row().classes("full-width justify-end"):
            ui.button("Cancel", on_click=lambda: dialog.submit(False)).props("flat")
            ui.button(ok, on_click=lambda: dialog.submit(True)).props("color=negative").mark("dialog-ok")
    answer = await dialog
    if not dialog.is_deleted:  # deleted with its page when the tab closed
        dialog.delete()
    return bool(answer)


def tag(element: ui.element, testid: str | None = None, **data: object) -> ui.element:
    """Set ``data-testid`` (also a marker, for the simulated user) and ``data-*`` attributes as values
    (never parsed from a props string)."""
    if testid is not None:
        element.props["data-testid"] = testid
        element.mark(testid)
    for key, value in data.items():
        element.props[f"data-{key.replace('_', '-')}"] = str(value)
    return element
