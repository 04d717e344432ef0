"""The editor's chat panel: talk to a graph whose input is a message.

A graph talks when it has one text input (the message) and, optionally, a text input named
``session_id``; its other inputs must be optional. Each message sent is a run of the graph's
saved version with the message and the panel's session id, so an agent wired to ``session_id``
remembers the conversation (``/session/ID`` shows it and its runs). While a run goes on, the
panel shows its tool calls and the reply as it streams; then the answer (the output named
``answer``, else the first text output) with a link to the run's replay.

The editor owns saving and the canvas: it hands the panel ``prepare`` (save, then the stored
version and its compiled graph, or None) and ``on_run`` (show the run on the canvas).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from nicegui import background_tasks, ui

from graphflow import events as ev
from graphflow.compile import CompiledGraph
from graphflow.describe import call_text
from graphflow.model import GraphSpec
from graphflow.ports import GraphVersion

from ..context import AppContext, LiveRun
from .frame import tag
from .sessions import session_url

SESSION_INPUT = "session_id"
Prepare = Callable[[], Awaitable[tuple[GraphVersion, CompiledGraph] | None]]
OnRun = Callable[[LiveRun, GraphSpec], None]


@dataclass(frozen=True, slots=True)
class ChatInputs:
    message: str
    """The input node's name that takes the message."""
    session: str | None
    """The ``session_id`` input's name, when the graph has one."""


def chat_inputs(compiled: CompiledGraph) -> ChatInputs | str:
    """The graph's message (and session) inputs, or why it cannot chat."""
    configs = [node.config for node in compiled.input_nodes()]
    session = next((c.name for c in configs if c.name == SESSION_INPUT and c.type in ("string", "any")), None)
    texts = [c for c in configs if c.name != session and c.type in ("string", "any")]
    if len(texts) != 1:
        found = ", ".join(c.name for c in texts) or "none"
        return f"A chat needs a graph with exactly one text input for the message (text inputs: {found})."
    others = [c.name for c in configs if c.name not in (texts[0].name, session) and c.is_required]
    if others:
        return f"A chat sends only the message: these inputs are required too: {', '.join(others)}."
    return ChatInputs(texts[0].name, session)


def answer_text(outputs: Mapping[str, Any]) -> str:
    """What the graph answered: the ``answer`` output, else its first text output, else all as JSON."""
    if isinstance(outputs.get("answer"), str):
        return outputs["answer"]
    for value in outputs.values():
        if isinstance(value, str):
            return value
    return json.dumps(dict(outputs), ensure_ascii=False, default=str)


def new_session_id() -> str:
    return "chat-" + uuid.uuid4().hex[:10]


class ChatPanel:
    """One browser tab's conversation with the graph being edited."""

    def __init__(self, ctx: AppContext, graph_id: str, prepare: Prepare, on_run: OnRun | None = None) -> None:
        self.ctx, self.graph_id, self.prepare, self.on_run = ctx, graph_id, prepare, on_run
        self.session_id = new_session_id()
        self.busy = False
        with ui.row().classes("full-width items-center no-wrap q-gutter-xs"):
            self.session_field = tag(ui.input("Session", value=self.session_id).props("dense")
                                     .classes("col"), "chat-session")
            self.session_field.on("keydown.enter", self.switch_session)
            self.session_field.on("blur", self.switch_session)
            tag(ui.button(icon="add_comment", on_click=self.new_conversation).props("flat dense")
                .tooltip("A new conversation"), "chat-new")
            self.session_link = tag(ui.link("session", session_url(self.session_id)), "chat-session-link")
        self.messages = tag(ui.column().classes("full-width").style("gap: 4px"), "chat-messages")
        with ui.row().classes("full-width items-end no-wrap"):
            self.box = tag(ui.textarea(placeholder="Write a message (Ctrl+Enter sends)").props("dense autogrow")
                           .classes("col"), "chat-input")
            self.box.on("keydown.ctrl.enter", self.send)
            self.send_button = tag(ui.button(icon="send", on_click=self.send).props("dense"), "chat-send")

    # --- sessions

    async def new_conversation(self) -> None:
        await self.use_session(new_session_id())

    async def switch_session(self) -> None:
        wanted = str(self.session_field.value or "").strip()
        if wanted and wanted != self.session_id:
            await self.use_session(wanted)

    async def use_session(self, session_id: str) -> None:
        """Show ``session_id``'s stored conversation; the next message continues it."""
        self.session_id = session_id
        self.session_field.value = session_id
        self.session_link.props["href"] = session_url(session_id)  # a value: never parsed as props
        self.session_link.update()
        self.messages.clear()
        for message in await self.ctx.workspace.session_messages(session_id):
            self.bubble(str(message["content"]), mine=message["role"] == "user", run_id=str(message["run_id"]))

    # --- messages

    def bubble(self, text: str, *, mine: bool, run_id: str | None = None) -> ui.column:
        """A message (as text: never markup); the answer's bubble links to its run's replay."""
        with self.messages:
            align = "self-end" if mine else "self-start"
            colour = "#dbeafe" if mine else "#f3f4f6"
            with tag(ui.column().classes(align).style(f"background: {colour}; border-radius: 8px; padding: 4px 10px; "
                                                      "max-width: 92%; gap: 2px"), "chat-message",
                     role="user" if mine else "assistant") as box:
                tag(ui.label(text).style("white-space: pre-wrap; overflow-wrap: anywhere"), "chat-text")
                if run_id:
                    tag(ui.link("replay", f"/run/{run_id}").classes("gf-muted"), "chat-run-link", run_id=run_id)
        return box

    async def send(self) -> None:
        text = str(self.box.value or "").strip()
        if not text or self.busy:
            return
        self.busy = True  # before saving: a second click meanwhile sends nothing
        try:
            prepared = await self.prepare()
        finally:
            self.busy = False
        if prepared is None:
            return
        stored, compiled = prepared
        names = chat_inputs(compiled)
        if isinstance(names, str):
            ui.notify(names, type="warning")
            return
        inputs: dict[str, Any] = {names.message: text}
        if names.session is not None:
            inputs[names.session] = self.session_id
        self.box.value = ""
        self.bubble(text, mine=True)
        live = self.ctx.runs.start(self.graph_id, inputs, version=stored.version)
        if self.on_run is not None:
            self.on_run(live, stored.spec)
        self.busy = True
        self.send_button.disable()
        task = background_tasks.create(self.follow(live), name=f"chat run {live.run_id}")
        ui.context.client.on_delete(task.cancel)

    async def follow(self, live: LiveRun) -> None:
        """The run's tool calls and streaming reply in a bubble, then its answer or error."""
        box = self.bubble("…", mine=False)
        with box:
            calls = tag(ui.column().style("gap: 0"), "chat-calls")
        reply = next(iter(box.default_slot.children))
        assert isinstance(reply, ui.label)
        outputs: dict[str, Any] = {}
        error: str | None = None
        try:
            async for item in live.log.watch():
                if isinstance(item, ev.NodeText):
                    reply.text = item.text
                elif isinstance(item, ev.ToolCalled):
                    with calls:
                        tag(ui.label("🔧 " + call_text(item.name, item.arguments, item.result, item.error))
                            .classes("gf-muted gf-mono"), "chat-tool-call", name=item.name)
                elif isinstance(item, ev.RunFinished):
                    outputs = dict(item.outputs)
                    error = item.error if item.status != "succeeded" else None
                elif isinstance(item, ev.RunCancelled):
                    error = item.reason or "cancelled"
            if error is None and live.error:
                error = live.error
            reply.text = f"(failed) {error}" if error else answer_text(outputs)
            if error:
                reply.classes("gf-problem")
            with box:
                tag(ui.link("replay", f"/run/{live.run_id}").classes("gf-muted"), "chat-run-link",
                    run_id=live.run_id)
        finally:
            self.busy = False
            self.send_button.enable()
