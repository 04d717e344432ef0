"""What ``graphflow run`` shows while a run goes on, and the sinks that show it.

Everything here is an event sink (``async def publish(event)``): the CLI subscribes to a
run through events only, never through runner internals. Progress goes to stderr so
stdout stays clean for the run's outputs.

* ``LineProgress``: one line per node event; robust in logs, pipes and CI.
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

from graphflow.events import Event, NodeStatus
from graphflow.runner import RunResult
from graphflow.text import printable

STATUS_COLORS = {
    NodeStatus.RUNNING: "cyan",
    NodeStatus.RETRYING: "cyan",
    NodeStatus.SUCCEEDED: "green",
    NodeStatus.FAILED: "red",
    NodeStatus.SKIPPED: "bright_black",
    NodeStatus.CANCELLED: "yellow",
    NodeStatus.PENDING: "bright_black",
}
_NODE_STATUS = {
    "node_started": NodeStatus.RUNNING,
    "node_succeeded": NodeStatus.SUCCEEDED,
    "node_failed": NodeStatus.FAILED,
    "node_skipped": NodeStatus.SKIPPED,
    "node_cancelled": NodeStatus.CANCELLED,
}


def node_detail(event: Event) -> str:
    """The tail of a progress line: duration, attempt, error or reason."""
    parts: list[str] = []
    duration = getattr(event, "duration", None)
    if event.kind in ("node_succeeded", "node_failed") and duration is not None:
        parts.append(f"{duration:.3f}s")
    attempt = getattr(event, "attempt", 1)
    if attempt > 1:
        parts.append(f"attempt {attempt}")
    if event.kind == "node_failed":
        parts.append(f"{event.error_type}: {event.error_message}")
        if event.handled:
            parts.append("(handled by a join)")
    elif event.kind in ("node_skipped", "node_cancelled") and event.reason:
        parts.append(event.reason)
    return "  ".join(parts)


class JsonlSink:
    """Writes every event as a JSON line, flushed at once so ``tail -f`` follows the run."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    async def publish(self, event: Event) -> None:
        self.stream.write(event.model_dump_json() + "\n")
        self.stream.flush()


class LineProgress:
    """``+0.012s  node-id   succeeded  0.003s`` on stderr, one line per node event."""

    def __init__(self) -> None:
        self.t0: float | None = None
        self.width = 12

    def __enter__(self) -> LineProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    async def publish(self, event: Event) -> None:
        if event.kind == "run_started":
            self.t0 = event.at
            self.width = min(max((len(n) for n in event.node_ids), default=4), 24)
            typer.echo(printable(f"run {event.run_id}: graph {event.graph_id!r}, {len(event.node_ids)} nodes"),
                       err=True)
            return
        status = _NODE_STATUS.get(event.kind)
        if status is None:
            return
        offset = event.at - (self.t0 if self.t0 is not None else event.at)
        line = f"+{offset:7.3f}s  {event.node_id:<{self.width}}  "
        detail = printable(node_detail(event), one_line=True)
        word = event.kind.removeprefix("node_")
        line += typer.style(f"{word:<9}  " if detail else word, fg=STATUS_COLORS[status])
        typer.echo(line + detail, err=True)


class TableProgress:
    """A live table of nodes (status, time, detail), redrawn as events arrive."""

    MAX_ROWS = 25

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self.order: list[str] = []
        self.rows: dict[str, dict[str, Any]] = {}
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

    async def publish(self, event: Event) -> None:
        if event.kind == "run_started":
            self.title = printable(f"run {event.run_id} · graph {event.graph_id}", one_line=True)
            self.order = list(event.node_ids)
            self.rows = {n: {"status": NodeStatus.PENDING, "since": None, "detail": ""} for n in self.order}
            return
        status = _NODE_STATUS.get(event.kind)
        if status is None:
            return
        row = self.rows.setdefault(event.node_id, {"status": NodeStatus.PENDING, "since": None, "detail": ""})
        row["status"] = status
        row["since"] = time.monotonic() if status is NodeStatus.RUNNING else None
        row["detail"] = printable(node_detail(event), one_line=True)
        if event.node_id in self.recent:
            self.recent.remove(event.node_id)
        self.recent.append(event.node_id)
        self.live.refresh()

    def visible(self) -> list[str]:
        if len(self.order) <= self.MAX_ROWS:
            return self.order
        keep = {n for n, r in self.rows.items() if r["status"] in (NodeStatus.RUNNING, NodeStatus.FAILED)}
        keep.update(self.recent[-max(self.MAX_ROWS - len(keep), 0):])
        return [n for n in self.order if n in keep][: self.MAX_ROWS]

    def __rich__(self) -> Group:
        table = Table(title=Text(self.title), title_justify="left", expand=False)
        table.add_column("node", no_wrap=True)
        table.add_column("status", no_wrap=True)
        table.add_column("detail", overflow="fold")
        now = time.monotonic()
        for node_id in self.visible():
            row = self.rows[node_id]
            color = STATUS_COLORS.get(row["status"], "white")
            if row["status"] is NodeStatus.RUNNING:
                status: Any = Spinner("dots", text=Text("running", style=color), style=color)
                detail = f"{now - row['since']:.1f}s" if row["since"] is not None else ""
            else:
                status, detail = Text(row["status"], style=color), row["detail"]
            table.add_row(Text(node_id), status, Text(detail))  # Text: no rich markup from node errors
        counts = Counter(r["status"] for r in self.rows.values())
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
    took = f" in {end.duration:.3f}s" if end is not None and hasattr(end, "duration") else ""
    if result.status == "succeeded":
        return f"succeeded{took}: run {result.run_id} ({states})"
    if result.status == "failed":
        return f"failed{took}: node {result.failed_node!r}: {result.error} (run {result.run_id}; {states})"
    reason = getattr(end, "reason", "") or "cancelled"
    return f"cancelled{took}: {reason} (run {result.run_id}; {states})"
