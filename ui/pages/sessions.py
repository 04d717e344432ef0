"""A conversation (``/session/{session_id}``): its runs in order, each with the messages it
stored (the user's message and the answer) and a link to its replay. A run's replay links back
here. The messages are the agents' memory (``session_messages``); a run that failed before
answering stored none, so it is not listed.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from nicegui import ui

from graphflow.formatting import cost, duration, when
from graphflow.ports import NotFound

from ..context import AppContext
from .frame import frame, tag
from .history import STATUS_COLOURS


def session_url(session_id: str) -> str:
    """The session page's address: the id is any text a graph was given, so it is encoded."""
    return "/session/" + quote(session_id, safe="")


def turns(messages: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """The messages grouped by the run that stored them, in order (a run's messages are adjacent)."""
    grouped: list[tuple[str, list[dict[str, Any]]]] = []
    for message in messages:
        run_id = str(message.get("run_id") or "")
        if not grouped or grouped[-1][0] != run_id:
            grouped.append((run_id, []))
        grouped[-1][1].append(message)
    return grouped


def register(ctx: AppContext) -> None:
    @ui.page("/session/{session_id:path}")
    async def session_page(session_id: str) -> None:
        with frame(f"Session {session_id}"):
            messages = await ctx.workspace.session_messages(session_id)
            if not messages:
                tag(ui.label(f"No messages in session {session_id!r}.").classes("gf-muted"), "no-session")
                return
            grouped = turns(messages)
            tag(ui.label(f"{len(grouped)} run{'s' if len(grouped) != 1 else ''}, {len(messages)} messages")
                .classes("gf-muted"), "session-summary")
            for run_id, said in grouped:
                with tag(ui.card().classes("full-width").style("gap: 4px"), "session-run", run_id=run_id):
                    await run_header(run_id)
                    for message in said:
                        role = str(message.get("role"))
                        with ui.row().classes("no-wrap full-width").style("gap: 8px"):
                            ui.label(role).classes("gf-muted").style("width: 70px; flex: none")
                            tag(ui.label(str(message.get("content"))).style(
                                "white-space: pre-wrap; overflow-wrap: anywhere"), "session-message", role=role)

    async def run_header(run_id: str) -> None:
        with ui.row().classes("items-center q-gutter-md"):
            tag(ui.link(run_id[:12], f"/run/{run_id}").classes("gf-mono"), "session-run-link", run_id=run_id)
            try:
                run = await ctx.workspace.run_summary(run_id)
            except NotFound:
                ui.label("(run deleted)").classes("gf-muted")
                return
            ui.label(run.status).style(f"color: {STATUS_COLOURS.get(run.status, 'inherit')}; font-weight: 500")
            ui.link(run.graph_id, f"/graph/{run.graph_id}")
            ui.label(f"{when(run.started_at)} · {duration(run.duration)} · {cost(run.cost)}").classes("gf-muted")
