"""Watching a run on the canvas: the run's events, folded into a ``RunState``, become node
statuses, breaker badges and edge states, pushed to the browser in batches (one every
``BATCH_SECONDS`` at most), plus a run panel with the event log and the final outputs.

Everything comes from the run's own event log (``LiveRun.log``), never from polling storage.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

from nicegui import background_tasks, ui

from graphflow import events as ev
from graphflow.compile import CompiledGraph
from graphflow.describe import describe
from graphflow.errors import RunInputError
from graphflow.inputs import check_run_inputs
from graphflow.model import GraphSpec
from graphflow.state import RunState

from ..canvas import GraphCanvas
from ..canvas.events import node_views, text_tail
from ..context import LiveRun
from .frame import tag

log = logging.getLogger(__name__)
BATCH_SECONDS = 0.05
STORED_SECONDS = 2.0
"""While a run goes on with no live log here (another process continues it): how often its stored
events are read."""
LOG_LINES = 2000


class RunView:
    """The overlays and the run panel of one run. ``follow(live)`` runs until the run's log ends."""

    def __init__(self, canvas: GraphCanvas, spec: GraphSpec, panel: ui.element,
                 breakers: dict[str, str] | None = None,
                 successor: Callable[[str], LiveRun | None] | None = None,
                 stored: Callable[[str], Awaitable[list[ev.Event]]] | None = None) -> None:
        self.canvas = canvas
        self.state = RunState()
        self.breaker_of = {n.id: n.breaker.name for n in spec.nodes if n.breaker is not None}
        self.nodes_of_breaker: dict[str, list[str]] = defaultdict(list)
        for node_id, name in self.breaker_of.items():
            self.nodes_of_breaker[name].append(node_id)
        self.known_breakers = dict(breakers or {})
        """Breaker states when the page opened: shown until the run changes them."""
        self.out_edges: dict[str, list[Any]] = defaultdict(list)
        for edge in spec.edges:
            self.out_edges[edge.source].append(edge)
        self.changed: set[str] = set(self.breaker_of)
        self.lines: list[str] = []
        self.texts: dict[str, str] = {}
        """Replies streaming now, by node: shown on the card until the node's success brings the final text."""
        self.live: LiveRun | None = None
        self.finished = False
        self.end_shown = False
        """The end of the log followed now is shown (buttons hidden, outputs)."""
        self.on_resume: Callable[[], Awaitable[None]] | None = None
        """Set by the page: continue this run (paused) as a new live run."""
        self.successor = successor
        """The live run going on now under a run id (``LiveRuns.get``): a waiting run woken elsewhere."""
        self.stored = stored
        """A run's stored events (``Workspace.events``): a run another process continues."""
        self.elsewhere = False
        """Events came from the store: the run goes on in another process."""
        self.polled, self.polling = 0.0, False
        with panel:
            with ui.row().classes("items-center full-width"):
                self.status = tag(ui.label("starting").style("font-weight: 600"), "run-status")
                ui.space()
                self.pause = tag(ui.button("Pause", icon="pause", on_click=self.ask_pause).props("dense outline"),
                                 "pause-run").tooltip("Let the nodes running now finish, start nothing new")
                self.resume = tag(ui.button("Resume", icon="play_arrow", on_click=self.ask_resume).props("dense"),
                                  "resume-run")
                self.resume.set_visibility(False)
                self.stop = tag(ui.button("Stop", icon="stop", on_click=self.cancel).props("color=negative dense"),
                                "stop-run")
            self.log = tag(ui.log(max_lines=LOG_LINES).classes("full-width gf-mono").style("height: 240px"),
                           "event-log")
            self.outputs = ui.column().classes("full-width")
            self.timer = ui.timer(BATCH_SECONDS, self.flush)

    def follow(self, live: LiveRun, *, continuing: bool = False) -> asyncio.Task[None]:
        """Follow ``live`` until its log ends; ``continuing``: the same run woken after it waited
        (its new log starts after the events already shown)."""
        self.live = live
        self.finished = self.end_shown = self.elsewhere = False
        self.timer.activate()  # stopped when the previous log ended waiting
        self.stop.set_visibility(True)
        self.pause.set_visibility(True)
        self.pause.enable()
        self.resume.set_visibility(False)
        if not continuing:
            self.canvas.reset_statuses()
        task = background_tasks.create(self._follow(live), name=f"follow run {live.run_id}")
        ui.context.client.on_delete(task.cancel)
        return task

    async def _follow(self, live: LiveRun) -> None:
        try:
            async for item in live.log.watch():
                if not isinstance(item, ev.NodeText) and item.seq <= self.state.last_seq:
                    continue  # already shown (a continued run)
                if isinstance(item, ev.NodeText):
                    self.texts[item.node_id] = item.text
                    self.changed.add(item.node_id)
                else:
                    self.apply(item)
        except Exception as exc:  # a fault in the panel must not leave it saying 'running' forever
            log.exception("the run panel stopped following run %s", live.run_id)
            self.lines.append(f"the panel stopped following the run: {exc!r} (the Runs page has it all)")
            self.finished = True
            return
        if self.state.status == "waiting" and not live.error:  # it goes on when woken: nothing is wrong
            self.finished = True  # also a continued log that ended with nothing new (continued elsewhere)
            return
        if not self.finished:  # the log closed without a final event: the run could not start or continue
            self.lines.append(f"the run stopped without a final event: {live.error or 'no reason given'}")
            self.finished = True

    def apply(self, event: ev.Event) -> None:
        try:
            self.state.apply(event)
        except ValueError as exc:  # a gap in the log: say so, keep going
            self.lines.append(f"(log problem: {exc})")
        self.lines.append(describe(event))
        node_id = getattr(event, "node_id", None)
        if node_id and not isinstance(event, ev.NodeStarted):
            self.texts.pop(node_id, None)  # a retry streams afresh; a success or failure ends the stream
        if isinstance(event, ev.BreakerChanged):
            self.changed.update(self.nodes_of_breaker.get(event.breaker, ()))
        elif isinstance(event, ev.RunStarted):
            self.changed.update(event.node_ids)
        elif node_id:
            self.changed.add(node_id)
        if event.kind in ev.LOOP_END_KINDS:  # ended, or waiting: this log ends here
            self.changed.update(self.state.nodes)
            self.finished = True

    def ask_pause(self) -> None:
        if self.live is not None and not self.finished:
            self.live.control.pause("paused from the canvas")
            self.pause.disable()
            self.lines.append("pausing: the nodes running now finish, nothing new starts")

    async def ask_resume(self) -> None:
        if self.on_resume is not None:
            self.resume.disable()
            await self.on_resume()

    def cancel(self) -> None:
        if self.live is not None and not self.finished:
            self.live.control.cancel("stopped from the canvas")
            self.stop.disable()

    def flush(self) -> None:
        """Send what changed since the last flush: one message per kind of overlay. The status
        goes first, so an overlay that fails cannot leave it behind the run."""
        self.status.text = panel_status(self.state, self.finished and not self.elsewhere)
        if self.finished and self.state.status == "waiting":
            self.follow_successor()
        if self.finished and self.state.status in ("running", "waiting"):
            self.catch_up_soon()
        if self.changed:
            changed, self.changed = self.changed, set()
            statuses = node_views(self.state, self.breaker_of, self.known_breakers, only=changed, now=time.time())
            if statuses:
                for node_id, text in self.texts.items():
                    if node_id in statuses:
                        statuses[node_id]["text"] = text_tail(text)
                self.canvas.set_statuses(statuses)
            edges = self.state.edge_states(e for n in changed for e in self.out_edges.get(n, ()))
            if edges := {k: v for k, v in edges.items() if v is not None}:
                self.canvas.set_edge_states(edges)
        if self.lines:
            lines, self.lines = self.lines, []
            self.log.push("\n".join(lines))
        if self.finished and not self.end_shown:
            self.end_shown = True
            if self.state.status not in ("running", "waiting") or not (self.successor or self.stored):
                self.timer.deactivate()  # else it keeps looking for the run going on elsewhere
            self.stop.set_visibility(False)
            self.pause.set_visibility(False)
            self.resume.set_visibility(bool(self.state.paused) and self.on_resume is not None)
            self.show_outputs()

    def follow_successor(self) -> None:
        """A waiting run woken elsewhere (the Inbox, a timer, the command line, another tab)
        goes on in this server as a new live run, or in the same one when it was woken while it
        still ran (its log opens again): follow it here too."""
        if self.successor is None or self.live is None:
            return
        going = self.successor(self.live.run_id)
        if going is not None and (going is not self.live or not going.log.closed):  # a new log, or this one again
            self.follow(going, continuing=True)

    def catch_up_soon(self) -> None:
        """Every ``STORED_SECONDS`` while no live log brings the run's events: read them from the store."""
        if self.stored is None or self.live is None or self.polling or time.monotonic() - self.polled < STORED_SECONDS:
            return
        self.polling, self.polled = True, time.monotonic()
        background_tasks.create(self.catch_up(self.live.run_id), name=f"stored events of {self.live.run_id}")

    async def catch_up(self, run_id: str) -> None:
        """Apply the stored events not seen yet: the run went on in another process (the command
        line, another server), which this server's live runs never see."""
        assert self.stored is not None
        try:
            events = await self.stored(run_id)
        except Exception:  # the store is closing: the next look may do better
            log.warning("reading the events of run %s failed", run_id, exc_info=True)
            return
        finally:
            self.polling = False
        new = [e for e in events if e.seq > self.state.last_seq]
        if not self.finished or not new:  # a live log is followed again meanwhile, or nothing new
            return
        for event in new:
            self.apply(event)
        self.elsewhere, self.finished, self.end_shown = True, True, False

    def show_outputs(self) -> None:
        self.outputs.clear()
        with self.outputs:
            error = self.state.error or (self.live.error if self.live is not None else None)
            if error:
                tag(ui.label(f"{self.state.failed_node or 'run'}: {error}").classes("gf-problem"), "run-error")
            ui.label("Outputs").classes("gf-muted")
            text = json.dumps(self.state.outputs, indent=2, ensure_ascii=False, default=str)
            # a label (text), never ui.code: its markdown fence is closed by U+2028 and the rest renders as HTML
            tag(ui.label(text).classes("full-width gf-mono gf-value"), "run-outputs")


def panel_status(state: RunState, finished: bool) -> str:
    """The run panel's one-word status: the run's own, or why its log ended without one."""
    if state.paused:
        return f"paused ({state.paused})"
    if finished and state.status in ("pending", "running"):  # the log closed without a final event
        return "unfinished" if state.status == "running" else "not run"
    return "starting" if state.status == "pending" else state.status


def input_fields(compiled: CompiledGraph) -> list[Any]:
    """The configs of the graph's input nodes (name, type, required, default, example, description)."""
    return [node.config for node in compiled.input_nodes()]


def parse_input(cfg: Any, raw: Any) -> Any:
    """A form value as the input's declared type; ``ValueError`` with a message otherwise."""
    if cfg.type == "boolean":
        return bool(raw)
    if cfg.type in ("integer", "number"):
        if raw is None:
            raise ValueError("a number is required")
        return int(raw) if cfg.type == "integer" and float(raw) == int(raw) else raw
    text = "" if raw is None else str(raw)
    if cfg.type == "string":
        return text
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        if cfg.type == "any":
            return text
        raise ValueError(f"must be a JSON {cfg.type}") from None


async def ask_inputs(compiled: CompiledGraph) -> dict[str, Any] | None:
    """A dialog with one field per input node; the run inputs, or None when cancelled."""
    fields = input_fields(compiled)
    if not fields:
        return {}
    with ui.dialog() as dialog, ui.card().style("min-width: 420px"):
        ui.label("Run inputs").style("font-weight: 600")
        widgets: dict[str, ui.element] = {}
        for cfg in fields:
            label = f"{cfg.name} ({cfg.type})" + ("" if not cfg.is_required or cfg.default is not None else " *")
            prefill = cfg.default if cfg.default is not None else cfg.example
            if cfg.type == "boolean":
                widget: ui.element = ui.checkbox(label, value=bool(prefill))
            elif cfg.type in ("integer", "number"):
                widget = ui.number(label, value=prefill, precision=0 if cfg.type == "integer" else None)
            elif cfg.type == "string":
                widget = ui.input(label, value="" if prefill is None else str(prefill))
            else:
                text = "" if prefill is None else json.dumps(prefill, indent=2, ensure_ascii=False)
                widget = ui.textarea(label + " JSON", value=text)
            if cfg.description:
                ui.label(cfg.description).classes("gf-muted")
            widgets[cfg.name] = tag(widget.classes("full-width"), f"input-{cfg.name}")
        errors = ui.column()

        def start() -> None:
            values, problems = {}, []
            for cfg in fields:
                raw = getattr(widgets[cfg.name], "value", None)
                if raw in (None, "") and not cfg.is_required:
                    continue  # the input's default
                if raw in (None, "") and cfg.type != "boolean":
                    problems.append(f"{cfg.name}: required")
                    continue
                try:
                    values[cfg.name] = parse_input(cfg, raw)
                except ValueError as exc:
                    problems.append(f"{cfg.name}: {exc}")
            if not problems:
                try:  # the engine's own check: e.g. valid JSON of the wrong type
                    check_run_inputs(compiled, values)
                except RunInputError as exc:
                    problems.append(str(exc))
            errors.clear()
            with errors:
                for problem in problems:
                    ui.label(problem).classes("gf-problem")
            if not problems:
                dialog.submit(values)

        with ui.row().classes("full-width justify-end"):
            ui.button("Cancel", on_click=lambda: dialog.submit(None)).props("flat")
            tag(ui.button("Start run", icon="play_arrow", on_click=start), "start-run")
    result = await dialog
    if not dialog.is_deleted:  # deleted with its page when the tab closed
        dialog.delete()
    return result
