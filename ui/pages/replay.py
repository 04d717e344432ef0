"""Visual replay of a stored run (``/run/{run_id}``), from its stored events alone.

Nothing here calls a node: the page reads the run's events and the graph version the run
used, and a ``Player`` (replay_player.py) rebuilds the run's state at the cursor. Playback
is a ``ui.timer`` handing the player the wall time that passed; what changed at the cursor
goes to the canvas as statuses and edge states (only the differences are sent).
"""

from __future__ import annotations

import json
import time
from typing import Any

from nicegui import ui

from graphflow.describe import describe
from graphflow.events import RunStarted, ToolCalled
from graphflow.formatting import duration, when
from graphflow.ports import GraphVersion, NotFound, RunSummary
from graphflow.resume import changed_nodes
from graphflow.state import RunState
from graphflow.ui.canvas import GraphCanvas
from graphflow.ui.canvas.events import node_views

from ..context import AppContext
from .frame import confirm, frame, tag
from .history import status_text
from .replay_player import (
    SPEEDS,
    Player,
    breaker_names,
    changes,
)
from .sessions import session_url

TICK = 0.05
LOG_WINDOW = 150
LINE = 20
"""Height of an event log line (px): the log scrolls to the current line by it."""
CSS = """
.gf-replay .gf-palette { display: none; }
.gf-log .q-scrollarea__content { width: 100%; }
.gf-log-line { height: 20px; max-width: 100%; line-height: 20px; white-space: nowrap; overflow: hidden;
  text-overflow: ellipsis; cursor: pointer; padding: 0 4px; }
.gf-log-line.gf-current { background: #fde68a; font-weight: 600; }
.gf-notice { background: #fef3c7; color: #78350f; padding: 6px 10px; border-radius: 4px; }
"""


def version_notice(run: RunSummary, latest: GraphVersion | None) -> str | None:
    if latest is None or run.graph_version is None or latest.version == run.graph_version:
        return None
    return (f"This run used version {run.graph_version}; the graph is now at version {latest.version}; "
            f"showing version {run.graph_version}.")


def log_line(event: Any, t0: float) -> str:
    """A replay log line: the event's number (what the slider shows), then ``describe``."""
    return f"#{event.seq}  {describe(event, t0)}"


def as_text(value: Any) -> str:
    return json.dumps(value, indent=2, default=str, ensure_ascii=False)


class Replay:
    """One browser tab's replay: the player and the widgets it drives."""

    def __init__(self, ctx: AppContext, run: RunSummary, events: list[Any], used: GraphVersion | None,
                 latest: GraphVersion | None) -> None:
        self.ctx, self.run, self.used, self.latest = ctx, run, used, latest
        self.player = Player(events)
        self.t0 = events[0].at if events else 0.0
        self.by_node = breaker_names(used.spec) if used else {}
        self.initial = RunState.from_events(events).breakers_before
        """Each breaker before the run changed it: shown at cursors before that change."""
        self.sent_statuses: dict[str, Any] = {}
        self.sent_edges: dict[str, Any] = {}
        self.log_start = 0
        self.log_lines: list[ui.label] = []
        self.highlighted: ui.label | None = None
        self.selected: str | None = None
        self.outputs_shown: tuple[str, int] | None = None
        self.last_tick: float | None = None
        self.canvas: GraphCanvas | None = None
        self.build()
        self.seek(0 if events else -1)

    # -- layout -----------------------------------------------------------------------

    def build(self) -> None:
        ui.add_css(CSS)
        n = len(self.player)
        with tag(ui.row().classes("items-center q-gutter-sm no-wrap"), "controls"):
            buttons = (("to-start", "first_page", "Jump to the start", lambda: self.seek(-1)),
                       ("play", "play_arrow", "Play / pause", self.toggle),
                       ("step", "navigate_next", "Step to the next event", self.step),
                       ("to-end", "last_page", "Jump to the end", lambda: self.seek(n - 1)))
            for name, icon, tip, handler in buttons:
                button = tag(ui.button(icon=icon, on_click=handler).props("dense" if name == "play" else "flat dense"),
                             name)
                button.tooltip(tip)
                if name == "play":
                    self.play_button = button
            self.player.speed = SPEEDS[self.player.default_speed]
            self.speed = tag(ui.select(list(SPEEDS), value=self.player.default_speed, on_change=self.set_speed),
                             "speed").props("dense options-dense").style("width: 90px") \
                .tooltip("Playback speed (paced: one event every few tenths of a second)")
            self.slider = tag(ui.slider(min=-1, max=max(n - 1, 0), value=-1, on_change=self.scrub), "timeline") \
                .props("label").style("min-width: 300px; width: 40vw")
        self.position = tag(ui.label().classes("gf-mono"), "current-event")
        with ui.row().classes("full-width no-wrap items-stretch").style("gap: 12px"):
            with ui.column().style("flex: 5; min-width: 0"):
                if self.used is not None:
                    kinds = {node.kind for node in self.used.spec.nodes}
                    described = [k.describe() for name, k in self.ctx.registry.kinds.items() if name in kinds]
                    self.canvas = GraphCanvas(described, self.used.spec.model_dump(mode="json"),
                                              registry=self.ctx.registry, on_select=self.select) \
                        .classes("gf-replay").style("height: max(420px, calc(100vh - 300px)); width: 100%")
                else:
                    tag(ui.label("The graph version this run used is no longer stored: only the event log can be "
                                 "replayed.").classes("gf-notice"), "no-graph")
            with ui.column().style("flex: 3; min-width: 300px"):
                self.detail = tag(ui.column().classes("full-width"), "node-detail")
                ui.label("Event log").style("font-weight: 600")
                self.scroll = ui.scroll_area().classes("gf-log").style("height: 360px; border: 1px solid #e5e7eb")
                with self.scroll:
                    self.log_box = tag(ui.column().classes("full-width").style("gap: 0"), "event-log")
                ui.label("Outputs").style("font-weight: 600")
                self.outputs = tag(ui.column().classes("full-width"), "outputs")
        self.timer = ui.timer(TICK, self.tick, active=False)

    # -- moving the cursor ----------------------------------------------------------------

    def seek(self, index: int) -> None:
        if index != self.player.cursor or not self.log_lines:
            self.player.seek(index)
            self.render()

    def scrub(self, event: Any) -> None:
        if event.value is not None:
            self.seek(int(event.value))

    def step(self) -> None:
        self.pause()
        if self.player.step() is not None:
            self.render()

    def toggle(self) -> None:
        if self.timer.active:
            self.pause()
            return
        if self.player.at_end:
            self.player.seek(-1)
            self.render()
        self.last_tick = None
        self.timer.activate()
        self.play_button.props("icon=pause")

    def pause(self) -> None:
        self.timer.deactivate()
        self.play_button.props("icon=play_arrow")

    def set_speed(self, event: Any) -> None:
        self.player.speed = SPEEDS[event.value]

    def tick(self) -> None:
        now = time.monotonic()
        elapsed = 0.0 if self.last_tick is None else now - self.last_tick
        self.last_tick = now
        if self.player.advance(elapsed):
            self.render()
        if self.player.at_end:
            self.pause()

    # -- showing the cursor -----------------------------------------------------------------

    def render(self) -> None:
        player, state = self.player, self.player.state
        self.slider.value = player.cursor
        event = player.current
        # the slider's bubble names the event as the log does (#seq), not by its index
        self.slider.props(f'label-value="{"start" if event is None else f"#{event.seq}"}"')
        where = f"event {player.cursor + 1} of {len(player)}"
        self.position.text = f"{where}: {log_line(event, self.t0)}" if event else \
            f"before the first event ({len(player)} events)"
        if self.canvas is not None and self.used is not None:
            if player.cursor < 0:
                self.canvas.reset_statuses()
                self.sent_statuses, self.sent_edges = {}, {}
            else:
                statuses = node_views(state, self.by_node, self.initial)
                edges = {k: v for k, v in state.edge_states(self.used.spec.edges).items() if v is not None}
                if diff := changes(self.sent_statuses, statuses):
                    self.canvas.set_statuses(diff)
                if diff := changes(self.sent_edges, edges):
                    self.canvas.set_edge_states(diff)
                self.sent_statuses, self.sent_edges = statuses, edges
        self.show_log()
        self.show_outputs()
        self.show_node()

    def show_log(self) -> None:
        cursor, events = self.player.cursor, self.player.events
        if not self.log_lines or not self.log_start <= max(cursor, 0) < self.log_start + len(self.log_lines):
            self.log_start = max(0, cursor - LOG_WINDOW // 4)
            self.log_box.clear()
            self.highlighted = None
            with self.log_box:
                if self.log_start:
                    ui.label(f"{self.log_start} earlier events").classes("gf-muted")
                self.log_lines = [
                    tag(ui.label(log_line(e, self.t0)).classes("gf-log-line gf-mono"), index=i)
                    .on("click", lambda _, i=i: self.seek(i))
                    for i, e in enumerate(events[self.log_start:self.log_start + LOG_WINDOW], self.log_start)
                ]
                if not events:
                    ui.label("This run has no stored events.").classes("gf-muted")
        if self.highlighted is not None:
            self.highlighted.classes(remove="gf-current")
            self.highlighted = None
        if cursor >= 0:
            self.highlighted = self.log_lines[cursor - self.log_start].classes("gf-current")
            self.scroll.scroll_to(pixels=max(0, (cursor - self.log_start) * LINE - 140))

    def show_outputs(self) -> None:
        state = self.player.state
        ended = state.ended
        shown = (state.status, state.last_seq if ended else -1)
        if shown == self.outputs_shown:
            return  # outputs change only when the run ends
        self.outputs_shown = shown
        self.outputs.clear()
        with self.outputs:
            if not ended:
                ui.label("The run has not finished at this point.").classes("gf-muted")
                return
            tag(ui.label(f"Run {state.status}"), "final-status", status=state.status)
            if state.error:
                ui.label(f"{state.failed_node or 'run'}: {state.error}").classes("gf-problem gf-mono")
            tag(ui.label(as_text(state.outputs)).classes("gf-mono"), "final-outputs")

    def select(self, event: Any) -> None:
        self.selected = event.node_id
        self.show_node()

    def show_node(self) -> None:
        self.detail.clear()
        record = self.player.state.nodes.get(self.selected) if self.selected else None
        if record is None:
            return
        with self.detail:
            status = "degraded" if record.degraded else record.status
            ui.label(f"{self.selected}: {status}, attempt {record.attempts or '-'}, "
                     f"{duration(record.duration)}").style("font-weight: 600")
            for text in (record.error, record.reason):
                if text:
                    ui.label(text).classes("gf-problem gf-mono")
            if record.output is not None:
                ui.label(as_text(record.output)).classes("gf-mono")


def register(ctx: AppContext) -> None:
    @ui.page("/run/{run_id}")
    async def replay_page(run_id: str) -> None:
        workspace = ctx.workspace
        try:
            run = await workspace.run_summary(run_id)
        except NotFound:
            with frame(f"Run {run_id[:12]}"):
                tag(ui.label(f"No run {run_id!r}.").classes("gf-problem"), "no-run")
            return
        events = await workspace.events(run_id)
        used = latest = None
        try:
            latest = await workspace.graph(run.graph_id)
            used = latest if run.graph_version in (None, latest.version) else \
                await workspace.graph(run.graph_id, run.graph_version)
        except NotFound:
            pass
        title = (used or latest).spec.name if (used or latest) is not None else ""  # type: ignore[union-attr]
        with frame(f"{title or run.graph_id} · Run {run_id[:12]}", graph_id=run.graph_id, here="runs"):
            live = ctx.runs.get(run_id)
            status = status_text(run, live is not None and live.result is None and live.error is None)
            with ui.row().classes("items-center q-gutter-md"):
                shown = used or latest
                name = shown.spec.name if shown is not None else run.graph_id
                tag(ui.label(f"{name} · {status} · started {when(run.started_at)} · {duration(run.duration)} · "
                             f"{len(events)} events"), "run-summary", status=status)
                if run.status in ("failed", "cancelled") and used is not None:
                    tag(ui.button("Resume from here", icon="replay", on_click=lambda: resume(run, used)), "resume") \
                        .props("color=primary").tooltip("A new run from this one's failure, reusing what succeeded")
                await related_runs(run_id, events)
                for session_id in await workspace.run_sessions(run_id):
                    tag(ui.link(f"session {session_id}", session_url(session_id)), "session-link",
                        session=session_id)
            if notice := version_notice(run, latest):
                tag(ui.label(notice).classes("gf-notice"), "version-notice")
            if status == "running":
                with ui.row().classes("gf-notice items-center"):
                    ui.label("This run is still going on: the replay shows the events stored so far.")
                    ui.link("Follow it live", f"/graph/{run.graph_id}?run={run_id}")
            elif status == "unfinished":
                ui.label("This run did not finish (its process stopped); it is continued at the next start.") \
                    .classes("gf-notice")
            Replay(ctx, run, events, used, latest)

    async def related_runs(run_id: str, events: list[Any]) -> None:
        """Links to the run this one is part of, the run whose outputs it reused, and the stored runs
        of its graph-tool calls."""
        parent = getattr(events[0], "parent_run_id", None) if events else None
        if parent:
            tag(ui.link(f"part of run {parent[:12]}", f"/run/{parent}"), "parent-run-link", run_id=parent)
        started = events[0] if events and isinstance(events[0], RunStarted) else None
        if started is not None and started.resumed_from:
            where = f"run from {started.from_node}, reusing" if started.from_node else "resumed from"
            tag(ui.link(f"{where} run {started.resumed_from[:12]}", f"/run/{started.resumed_from}"),
                "reused-run-link", run_id=started.resumed_from)
        for call in (e for e in events if isinstance(e, ToolCalled)):
            key = f"{run_id}:{call.node_id}:{call.step}:{call.index}"  # the call's idempotency key
            try:
                await ctx.workspace.run_summary(key)
            except NotFound:
                continue  # not a graph tool, or its run was not stored
            tag(ui.link(f"{call.name} (step {call.step}) run", f"/run/{key}"), "sub-run-link", run_id=key)

    async def resume(run: RunSummary, used: GraphVersion) -> None:
        latest = await ctx.workspace.graph(run.graph_id)
        if latest.version != run.graph_version:
            changed = changed_nodes(used.spec, latest.spec)
            what = (f"These nodes changed and run again, with what depends on them: {', '.join(changed)}."
                    if changed else "No node's behaviour changed (labels or positions only).")
            if not await confirm(f"The graph changed since this run (version {run.graph_version} -> "
                                 f"{latest.version}); the new run uses version {latest.version}. {what}",
                                 ok="Resume"):
                return
        live = ctx.runs.resume_from_failure(run.run_id, run.graph_id)
        ui.navigate.to(f"/graph/{run.graph_id}?run={live.run_id}")
