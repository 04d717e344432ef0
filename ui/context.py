"""What every page gets: the workspace and the runs going on in this server.

One ``AppContext`` is built by ``ui/app.py`` at start-up and handed to each page's
``register``; nothing here is module-level state.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from anyio.abc import TaskGroup

import graphflow
from graphflow.errors import LeaseHeld
from graphflow.from_here import RunFrom
from graphflow.ports import ReviewItem
from graphflow.runner import RunControl, RunResult, new_run_id
from graphflow.service import Workspace

log = logging.getLogger(__name__)


@dataclass
class LiveRun:
    run_id: str
    graph_id: str
    log: graphflow.EventLog = field(default_factory=graphflow.EventLog)
    control: RunControl = field(default_factory=RunControl)
    result: RunResult | None = None
    error: str | None = None


class LiveRuns:
    """Runs started from the canvas. Each runs in the server's task group, so closing a
    browser tab never stops a run; pages follow a run by subscribing to its ``log``."""

    def __init__(self, workspace: Workspace, task_group: TaskGroup) -> None:
        self.workspace = workspace
        self.task_group = task_group
        self.runs: dict[str, LiveRun] = {}

    def start(self, graph_id: str, inputs: Mapping[str, Any], *, version: int | None = None) -> LiveRun:
        live, inputs = LiveRun(new_run_id(), graph_id), dict(inputs)
        return self._launch(live, lambda: self.workspace.run(
            graph_id, inputs, version=version, sinks=[live.log], control=live.control, run_id=live.run_id))

    def resume_from_failure(self, failed_run_id: str, graph_id: str, *, version: int | None = None) -> LiveRun:
        """A new run that continues a failed one from its failure."""
        live = LiveRun(new_run_id(), graph_id)

        async def work() -> RunResult:
            result, _ = await self.workspace.resume_from_failure(
                failed_run_id, version=version, sinks=[live.log], control=live.control, new_run_id=live.run_id)
            return result
        return self._launch(live, work)

    def start_from(self, plan: RunFrom) -> LiveRun:
        """A run from a node (``Workspace.plan_from``), reusing an earlier run's outputs for the rest."""
        live = LiveRun(new_run_id(), plan.graph.graph_id)
        return self._launch(live, lambda: self.workspace.run_from(
            plan, sinks=[live.log], control=live.control, run_id=live.run_id))

    def _launch(self, live: LiveRun, work: Callable[[], Awaitable[RunResult]]) -> LiveRun:
        self.runs[live.run_id] = live
        self.task_group.start_soon(self._drive, live, work)
        return live

    async def _drive(self, live: LiveRun, work: Callable[[], Awaitable[RunResult]]) -> None:
        try:
            live.result = await work()
        except Exception as exc:  # the graph was deleted, a storage error: shown on the page
            # (bad inputs or a stored graph that no longer validates are a failed run the workspace records)
            log.exception("run %s of %s could not run", live.run_id, live.graph_id)
            live.error = str(exc)
            live.log.close()

    def recover(self, run_id: str, graph_id: str) -> LiveRun:
        """Continue an unfinished run as a live one (shown running, with Stop, like a run started here)."""
        live = LiveRun(run_id, graph_id)
        self.runs[run_id] = live
        self.task_group.start_soon(self._recover, live)
        return live

    async def _recover(self, live: LiveRun) -> None:
        try:
            live.result = await self.workspace.recover(live.run_id, sinks=[live.log], control=live.control)
        except LeaseHeld as held:  # another live process took it first: it is not ours to show
            log.info("%s", held)
            self.runs.pop(live.run_id, None)
            return
        except Exception as exc:  # a storage error, a lost lease: the run stays unfinished
            log.exception("recovering run %s failed", live.run_id)
            live.error = str(exc)
        if live.result is None:
            live.error = live.error or "could not be recovered (see the run's error)"
        if not live.log.closed:  # followers stop waiting; the page shows live.error
            live.log.close()

    def continue_woken(self, run_id: str, graph_id: str = "") -> bool:
        """Continue a woken waiting run as a live one (followed on the canvas like a run started
        here); False when it is going on here already."""
        going = self.runs.get(run_id)
        if going is not None and going.result is None and going.error is None:
            return False
        live = self.runs[run_id] = LiveRun(run_id, graph_id)
        self.task_group.start_soon(self._continue, live)
        return True

    async def _continue(self, live: LiveRun) -> None:
        try:
            if not live.graph_id:
                live.graph_id = (await self.workspace.run_summary(live.run_id)).graph_id
            live.result = await self.workspace.continue_run(live.run_id, sinks=[live.log])  # the log replayed first
        except Exception as exc:  # a storage error, a graph gone: the run stays waiting, woken
            log.exception("continuing run %s failed", live.run_id)
            live.error = str(exc)
        if live.result is None and live.error is None:  # another process continues it
            self.runs.pop(live.run_id, None)
        if not live.log.closed:
            live.log.close()

    async def send(self, run_id: str, event: str, data: Any = None, *, by: str = "") -> str:
        """Send an event to a waiting run and continue it as a live run; the node it woke.
        ``RunRefused`` (nothing changed) when the run does not take it."""
        sent = await self.workspace.send(run_id, event, data, by=by, go_on=False)
        self.continue_woken(run_id)
        return sent.node_id

    async def decide(self, item_id: str, decision: Mapping[str, Any], *, by: str = "") -> ReviewItem:
        """Decide a review item and continue its run as a live run; ``ValueError`` (a decision
        that does not fit) or ``WakeRefused`` (decided or timed out already), nothing changed."""
        decided = await self.workspace.decide(item_id, decision, by=by, go_on=False)
        self.continue_woken(decided.item.run_id, decided.item.graph_id)
        return decided.item

    def get(self, run_id: str) -> LiveRun | None:
        return self.runs.get(run_id)


@dataclass
class AppContext:
    workspace: Workspace
    registry: graphflow.Registry
    runs: LiveRuns
    token: str | None = None
    reload_plugins: bool = False
    """``serve --reload-plugins``: the graph list offers a Reload plugins button."""

