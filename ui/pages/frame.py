"""The layout every page shares: a header with the way home, the page title, and a content column.

Pages render user text (graph names, labels, errors, outputs) only through text elements
(``ui.label``, ``ui.log``), never ``ui.html``, ``ui.code`` or markdown (``ui.code`` is markdown
underneath: a value with U+2028 closes its fence).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from nicegui import app, background_tasks, ui

from ..theme import add_theme, theme_toggle

COUNT_EVERY = 5.0
"""Seconds between updates of the header's pending review count."""
CSS = """
.gf-header { background: #1f2937; color: #f9fafb; height: 52px; }
.nicegui-content { padding: 0; }
.gf-brand { color: #f9fafb !important; font-weight: 600; text-decoration: none; font-size: 1.1rem; }
.gf-title { font-size: 1.05rem; opacity: .9; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.gf-content { padding: 12px 16px; gap: 12px; width: 100%; height: calc(100vh - 52px);
               overflow: auto; flex-wrap: nowrap; }
.gf-fill { flex: 1 1 auto; min-height: 0; }
.gf-nav { color: #f9fafb !important; font-size: .9rem; text-decoration: none; opacity: .85; white-space: nowrap; }
.gf-nav:hover { opacity: 1; text-decoration: underline; }
.gf-nav-here { font-weight: 600; opacity: 1; border-bottom: 2px solid #f9fafb; }
.gf-notice { color: #92400e; font-size: .85rem; }
.gf-muted { color: #6b7280; font-size: .85rem; }
.gf-problem { color: #b91c1c; font-size: .85rem; }
.gf-mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: .8rem; white-space: pre-wrap; }
.gf-row-cell { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.gf-upload .q-uploader__list, .gf-upload .q-uploader__subtitle { display: none; }
/* long log lines and output values wrap in their box instead of running out of it */
.nicegui-log { overflow-x: hidden; }
/* ui.log is a scroll area: its content box must not grow wider than the log */
.nicegui-log .q-scrollarea__content { width: 100%; }
.nicegui-log .q-scrollarea__content > * { white-space: pre-wrap; overflow-wrap: anywhere; }
.gf-value { overflow-wrap: anywhere; background: #f3f4f6; padding: 6px 8px; border-radius: 4px; }
"""


GRAPH_PAGES = (("editor", "Editor", ""), ("versions", "Versions", "/versions"), ("runs", "Runs", "/runs"),
               ("stats", "Stats", "/stats"))
"""A graph's pages, linked in this order in the header of each of them."""


@contextmanager
def frame(title: str, *, nav: bool = True, graph_id: str | None = None, here: str = "") -> Iterator[ui.column]:
    """``with frame("Graphs"):`` lays out a page; the body goes into the yielded column, which
    fills the window below the header (a page scrolls inside it, never past the window).
    ``graph_id``: a graph's page (``here`` names which): its pages are linked in the header."""
    ui.page_title(f"{title} · graphflow")
    ui.add_css(CSS)
    add_theme()
    with ui.header().classes("gf-header items-center q-px-md q-py-sm no-wrap"):
        ui.link("graphflow", "/").classes("gf-brand").props('data-testid="home"')
        tag(ui.label(title).classes("gf-title"), "page-title")
        ui.space()
        if graph_id is not None:
            with tag(ui.row().classes("items-center no-wrap q-gutter-md q-mr-lg"), "graph-nav"):
                for key, text, tail in GRAPH_PAGES:
                    if key == here:
                        tag(ui.label(text).classes("gf-nav gf-nav-here"), f"nav-{key}")
                    else:
                        tag(ui.link(text, f"/graph/{graph_id}{tail}").classes("gf-nav"), f"nav-{key}")
        if nav:
            ui.link("Graphs", "/").classes("gf-nav").props('data-testid="nav-graphs"')
            ui.link("Credentials", "/settings/credentials").classes("gf-nav q-ml-md") \
                .props('data-testid="nav-credentials"')
            inbox_link()
        theme_toggle().classes("q-ml-md")
    with ui.column().classes("gf-content") as content:
        yield content


def inbox_link() -> None:
    """The Inbox link with the number of pending review items (kept fresh while the page is open)."""
    with ui.link(target="/inbox").classes("gf-nav q-ml-md").props('data-testid="inbox-link"'):
        ui.label("Inbox").style("display: inline")
        count = ui.badge("", color="orange").props('data-testid="inbox-count"').style("margin-left: 4px")
    count.set_visibility(False)
    pending: Any = getattr(app.state, "graphflow_pending_reviews", None)  # set by pages/inbox.py
    if pending is None:
        return

    async def refresh() -> None:
        while not count.is_deleted:  # until the page goes (a background task: no timer element on every page)
            try:
                number = await pending()
            except Exception:  # the store is closing; the count is a hint, never an error on the page
                return
            count.set_text(str(number))
            count.set_visibility(number > 0)
            await asyncio.sleep(COUNT_EVERY)

    background_tasks.create(refresh(), name="inbox count")


def set_title(title: str) -> None:
    """The page's title (header and browser tab) after the page was built (a renamed graph)."""
    ui.page_title(f"{title} · graphflow")
    for label in ui.context.client.layout.descendants():
        if isinstance(label, ui.label) and label.props.get("data-testid") == "page-title":
            label.text = title


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
