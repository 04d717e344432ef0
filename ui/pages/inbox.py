"""The review inbox (``/inbox``): review items runs wait on, decided with the keyboard.

Each pending item shows its graph, why it was queued, the confidence, how long it has waited,
the proposal and its context. Keys: ``j``/``k`` move, ``a`` approves, ``e`` edits, ``r`` rejects
(a reason is asked), ``l`` labels, ``w`` writes an escalation's answer. A decision goes through
the workspace (the item and its node's wake in one transaction) and the run continues at once as
a live run of this server (followed on its canvas). Every text shown is a text element: labels,
proposals and context are never markup.
"""

from __future__ import annotations

import json
import time
from typing import Any

from nicegui import app, ui

from graphflow.errors import WakeRefused
from graphflow.formatting import age
from graphflow.ports import NotFound, ReviewItem

from ..context import AppContext
from .frame import frame, tag

ROUTE = "/inbox"
KEYS = {"a": "approve", "e": "edit", "r": "reject", "l": "label", "w": "answer"}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False)


def register(ctx: AppContext) -> None:
    workspace = ctx.workspace

    async def pending_count() -> int:
        return len(await workspace.reviews(limit=1000))

    app.state.graphflow_pending_reviews = pending_count  # the header's count (frame.py)

    @ui.page(ROUTE)
    async def inbox_page() -> None:
        state: dict[str, Any] = {"items": [], "selected": 0, "graph": None, "reason": None}
        with frame("Inbox"):
            ui.label("Review items runs wait on. Keys: j/k move, a approve, e edit, r reject, l label, "
                     "w write an escalation's answer.").classes("gf-muted")
            with ui.row().classes("items-end q-gutter-sm"):
                graph_filter = ui.select([], label="Graph", clearable=True, on_change=lambda: reload()) \
                    .props("dense").style("min-width: 200px").mark("filter-graph")
                reason_filter = ui.select([], label="Reason", clearable=True, on_change=lambda: reload()) \
                    .props("dense").style("min-width: 200px").mark("filter-reason")
            tag(graph_filter, "filter-graph")
            tag(reason_filter, "filter-reason")
            listing = ui.column().classes("full-width").style("gap: 8px")
            dialogs = ui.element()  # dialogs live here, not in a card that a reload clears

        async def reload(*, force: bool = True) -> None:
            every = await workspace.reviews()
            graph_filter.set_options(sorted({i.graph_id for i in every}), value=graph_filter.value)
            reason_filter.set_options(sorted({i.reason for i in every}), value=reason_filter.value)
            items = [i for i in every if (not graph_filter.value or i.graph_id == graph_filter.value)
                     and (not reason_filter.value or i.reason == reason_filter.value)]
            unchanged = [i.id for i in items] == [i.id for i in state["items"]]
            state["items"] = items
            state["selected"] = min(state["selected"], max(len(items) - 1, 0))
            if force or not unchanged:
                show()

        def show() -> None:
            listing.clear()
            now = time.time()
            with listing:
                if not state["items"]:
                    tag(ui.label("Nothing waits for a review.").classes("gf-muted"), "inbox-empty")
                for index, item in enumerate(state["items"]):
                    card(item, index, now)

        def card(item: ReviewItem, index: int, now: float) -> None:
            chosen = index == state["selected"]
            with tag(ui.card().classes("full-width q-pa-sm"), "review-item", item=item.id, run=item.run_id,
                     selected=str(chosen).lower()) as box:
                box.style("border: 2px solid #2563eb" if chosen else "border: 2px solid transparent")
                box.on("click", lambda i=index: select(i))
                with ui.row().classes("items-center full-width q-gutter-sm"):
                    ui.label(item.graph_id).style("font-weight: 600")
                    tag(ui.badge(item.reason or "review"), "review-reason")
                    conf = "-" if item.confidence is None else f"{item.confidence:.2f}"
                    ui.label(f"confidence {conf}").classes("gf-muted")
                    tag(ui.label(f"waiting {age(now - item.created_at)}").classes("gf-muted"), "review-age")
                    ui.label(f"takes: {item.variant}").classes("gf-muted")
                    ui.space()
                    ui.link("run", f"/run/{item.run_id}").classes("gf-muted")
                tag(ui.label(_text(item.detail.get("proposal"))).classes("gf-mono gf-value full-width"),
                    "review-proposal")
                context = item.detail.get("context")
                if context is not None:
                    with ui.expansion("Context").classes("full-width gf-muted"):
                        ui.label(_text(context)).classes("gf-mono")
                with ui.row().classes("q-gutter-xs"):
                    for key, action in KEYS.items():
                        if takes(item, action):
                            ui.button(f"{action} ({key})", on_click=lambda i=item, a=action: act(i, a)) \
                                .props("dense flat").mark(f"{action}-{item.id}")

        def takes(item: ReviewItem, action: str) -> bool:
            from graphflow.review import DECISIONS

            return action in DECISIONS.get(item.variant, DECISIONS["review"])

        def select(index: int) -> None:
            state["selected"] = index
            show()

        async def on_key(event: Any) -> None:
            if not event.action.keydown or event.modifiers.ctrl or event.modifiers.meta or event.modifiers.alt:
                return
            name = str(event.key.name)
            items: list[ReviewItem] = state["items"]
            if name in ("j", "ArrowDown") and items:
                select(min(state["selected"] + 1, len(items) - 1))
            elif name in ("k", "ArrowUp") and items:
                select(max(state["selected"] - 1, 0))
            elif name in KEYS and items:
                item = items[state["selected"]]
                if takes(item, KEYS[name]):
                    await act(item, KEYS[name])

        ui.keyboard(on_key=on_key)

        async def act(item: ReviewItem, action: str) -> None:
            decision: dict[str, Any] = {"decision": action}
            if action == "reject":
                reason = await ask("Reject: why?", "Reason")
                if reason is None:
                    return
                decision["reason"] = reason
            elif action in ("edit", "answer"):
                start = _text(item.detail.get("proposal")) if action == "edit" else ""
                text = await ask("Edit the proposal" if action == "edit" else "Your answer", "Text", start,
                                 multiline=True)
                if text is None:
                    return
                decision["value"] = text
            elif action == "label":
                chosen = await ask_label(item)
                if chosen is None:
                    return
                decision["label"] = chosen
            await decide(item, decision)

        async def decide(item: ReviewItem, decision: dict[str, Any]) -> None:
            try:
                decided = await ctx.runs.decide(item.id, decision, by="inbox")
            except (ValueError, WakeRefused, NotFound) as exc:
                ui.notify(str(exc.args[0]) if exc.args else str(exc), type="warning")
            else:
                ui.notify(f"{decided.status}: run {item.run_id} continues", type="positive")
            await reload()

        async def ask(title: str, label: str, value: str = "", *, multiline: bool = False) -> str | None:
            with dialogs, ui.dialog() as dialog, ui.card().style("min-width: 480px"):
                ui.label(title).style("font-weight: 600")
                field = (ui.textarea(label, value=value) if multiline else ui.input(label, value=value)) \
                    .props("autofocus").classes("full-width").mark("dialog-input")
                tag(field, "dialog-input")
                if not multiline:
                    field.on("keydown.enter", lambda: dialog.submit(field.value))
                with ui.row().classes("full-width justify-end"):
                    ui.button("Cancel", on_click=lambda: dialog.submit(None)).props("flat")
                    tag(ui.button("OK", on_click=lambda: dialog.submit(field.value)), "dialog-ok")
            answer = await dialog
            if not dialog.is_deleted:
                dialog.delete()
            text = (answer or "").strip()
            return text or None

        async def ask_label(item: ReviewItem) -> str | None:
            if not item.labels:
                return await ask("The correct label", "Label")
            with dialogs, ui.dialog() as dialog, ui.card():
                ui.label("The correct label").style("font-weight: 600")
                with ui.row().classes("q-gutter-sm"):
                    for label in item.labels:
                        tag(ui.button(label, on_click=lambda x=label: dialog.submit(x)), "label-choice", label=label)
            answer = await dialog
            if not dialog.is_deleted:
                dialog.delete()
            return answer if isinstance(answer, str) else None

        await reload()
        ui.timer(5.0, lambda: reload(force=False))  # items queued by other runs appear without reloading
