"""What ``graphflow run`` shows while a run goes on, and the sinks that show it.

Everything here is an event sink (``async def publish(event)``): the CLI subscribes to a
run through events only, never through runner internals. Progress goes to stderr so
stdout stays clean for the run's outputs.

* ``LineProgress``: one line per event; robust in logs, pipes and CI.
* ``TableProgress``: a rich Live table, for an interactive terminal.
* ``JsonlSink``: every event as one JSON line (``--events-jsonl``).
"""

from __future__ import annotations

import time
from collections import Counter
from typing import IO, Any

import typer
from rich.console import Console, Group
from rich.live import Live
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from graphflow.describe import describe, detail, wait_text
from graphflow.events import RUN_END_KINDS, Event, NodeStatus, RunCancelled, RunFinished
from graphflow.formatting import duration
from graphflow.runner import RunResult
from graphflow.state import RunState
from graphflow.text import printable

STATUS_COLORS = {
    NodeStatus.RUNNING: "cyan",
    NodeStatus.RETRYING: "cyan",
    NodeStatus.WAITING: "magenta",
    NodeStatus.SUCCEEDED: "green",
    NodeStatus.FAILED: "red",
    NodeStatus.SKIPPED: "bright_black",
    NodeStatus.CANCELLED: "yellow",
    NodeStatus.PENDING: "bright_black",
}


class JsonlSink:
    """Writes every event as a JSON line, flushed at once so ``tail -f`` follows the run."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    async def publish(self, event: Event) -> None:
        self.stream.write(event.model_dump_json() + "\n")
        self.stream.flush()


class LineProgress:
    """``+12 ms  node_succeeded  node-id in 3 ms`` on stderr, one line per event (``describe``)."""

    def __init__(self) -> None:
        self.state = RunState()

    def __enter__(self) -> LineProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    async def publish(self, event: Event) -> None:
        self.state.apply(event)
        if event.kind == "run_started":
            typer.echo(printable(f"run {event.run_id}: graph {event.graph_id!r}, {len(event.node_ids)} nodes"),
                       err=True)
        elif event.kind not in RUN_END_KINDS:  # the summary line says how the run ended
            node = self.state.nodes.get(getattr(event, "node_id", ""))
            colour = STATUS_COLORS.get(node.status) if node is not None else None
            line = printable(describe(event, self.state.started_at), one_line=True)
            typer.echo(typer.style(line, fg=colour), err=True)


class TableProgress:
    """A live table of nodes (status, time, detail), redrawn as events arrive."""

    MAX_ROWS = 25

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self.state = RunState()
        self.details: dict[str, str] = {}
        self.since: dict[str, float] = {}
        self.recent: list[str] = []
        self.title = "graphflow run"
        self.live = Live(self, console=self.console, refresh_per_second=8, transient=False)

    def __enter__(self) -> TableProgress:
        self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.live.refresh()
        self.live.__exit__(None, None, None)
        if not self.console.is_terminal:  # rich leaves the last line of a file render open
            self.console.line()

    @property
    def order(self) -> list[str]:
        return list(self.state.nodes)

    async def publish(self, event: Event) -> None:
        self.state.apply(event)
        if event.kind == "run_started":
            self.title = printable(f"run {event.run_id} · graph {event.graph_id}", one_line=True)
            return
        node_id = getattr(event, "node_id", None)
        if node_id is None:
            return
        self.details[node_id] = printable(detail(event).removeprefix(node_id).lstrip(" :"), one_line=True)
        if event.kind == "node_started":
            self.since[node_id] = time.monotonic()
        if node_id in self.recent:
            self.recent.remove(node_id)
        self.recent.append(node_id)
        self.live.refresh()

    def visible(self) -> list[str]:
        if len(self.order) <= self.MAX_ROWS:
            return self.order
        keep = {n for n, r in self.state.nodes.items() if r.status in (NodeStatus.RUNNING, NodeStatus.FAILED)}
        keep.update(self.recent[-max(self.MAX_ROWS - len(keep), 0):])
        return [n for n in self.order if n in keep][: self.MAX_ROWS]

    def __rich__(self) -> Group:
        table = Table(title=Text(self.title), title_justify="left", expand=False)
        table.add_column("node", no_wrap=True)
        table.add_column("status", no_wrap=True)
        table.add_column("detail", overflow="fold")
        now = time.monotonic()
        for node_id in self.visible():
            record = self.state.nodes[node_id]
            color = STATUS_COLORS.get(record.status, "white")
            if record.status is NodeStatus.RUNNING:
                status: Any = Spinner("dots", text=Text(record.status, style=color), style=color)
                text = duration(now - self.since[node_id]) if node_id in self.since else ""
            else:
                status, text = Text(record.status, style=color), self.details.get(node_id, "")
            table.add_row(Text(node_id), status, Text(text))  # Text: no rich markup from node errors
        counts = Counter(r.status for r in self.state.nodes.values())
        caption = Text("  ".join(f"{k}: {counts[k]}" for k in STATUS_COLORS if counts.get(k)), style="dim")
        return Group(table, caption)


def make_display(mode: str, *, is_tty: bool) -> LineProgress | TableProgress | None:
    """``auto`` picks the table on a terminal and lines elsewhere; ``none`` shows nothing."""
    if mode == "none":
        return None
    if mode == "table" or (mode == "auto" and is_tty):
        return TableProgress()
    return LineProgress()


def summary(result: RunResult) -> str:
    """One line on how the run ended."""
    counts = Counter(result.node_states.values())
    states = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    end = result.events[-1] if result.events else None
    took = f" in {duration(end.duration)}" if isinstance(end, RunFinished | RunCancelled) else ""
    if result.status == "succeeded":
        return f"succeeded{took}: run {result.run_id} ({states})"
    if result.status == "failed":
        return f"failed{took}: node {result.failed_node!r}: {result.error} (run {result.run_id}; {states})"
    if result.status == "waiting":
        seen = end.at if end is not None else time.time()
        waits = "; ".join(wait_text(w, seen) for w in result.waits)
        return (f"waiting: run {result.run_id} continues when woken ({waits}); "
                f"see graphflow reviews, graphflow send")
    reason = getattr(end, "reason", "") or "cancelled"
    return f"cancelled{took}: {reason} (run {result.run_id}; {states})"
