"""The composition root of the canvas: store, workspace, registry, live runs and pages, wired
once at start-up.

``start()`` (``graphflow serve``) opens the database for the app's lifetime in one task on
NiceGUI's loop (a task group for the runs started from the canvas lives in the same task),
adds the sample graphs that are new or changed since the last start, continues the runs the last process left
unfinished, and registers the pages. ``create_app(ctx)`` is the part tests use with a
context they built themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.resources
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
from anyio.abc import TaskGroup
from nicegui import app, core, ui
from starlette.types import ASGIApp, Receive, Scope, Send

import graphflow
from graphflow.errors import GraphflowError
from graphflow.ports import GraphVersion
from graphflow.service import Workspace
from graphflow.storage import open_store
from graphflow.validate import MAX_BYTES

from .auth import TokenGuard, check_bind
from .context import AppContext, LiveRuns
from .pages import credentials, editor, graphs, history, inbox, replay, sessions, stats, versions
from .plugin_watch import PluginWatcher
from .security import SecurityGuard, allowed_hosts

__all__ = ["StartFailed", "check_bind", "create_app", "import_samples", "register_pages", "start"]
log = logging.getLogger("graphflow.ui")
PAGES = (graphs, editor, history, replay, stats, credentials, sessions, versions, inbox)


class StartFailed(GraphflowError):
    """The server could not start: its database cannot be used, or start-up failed."""


def register_pages(ctx: AppContext) -> None:
    for page in PAGES:
        page.register(ctx)


def create_app(ctx: AppContext) -> None:
    """Pages (and the token guard when ``ctx.token`` is set) for an app that has not served yet."""
    if ctx.token:
        app.add_middleware(TokenGuard, token=ctx.token)
    register_pages(ctx)


async def import_samples(workspace: Workspace) -> list[GraphVersion]:
    """Every sample graph shipped with graphflow that is new or changed since this database
    last had it (``graphflow.samples``: a user's edit is never overwritten)."""
    specs = []
    files = importlib.resources.files("graphflow.sample_graphs")
    for entry in sorted(files.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".json"):
            continue
        try:
            specs.append(graphflow.load_graph(entry.read_bytes()))
        except graphflow.GraphValidationError as exc:
            log.warning("sample %s not imported: %s", entry.name, exc)
    return await workspace.add_samples(specs)


class Supervised:
    """The part of a task group ``LiveRuns`` uses, with each task's failure logged instead of
    cancelling every other run (and closing the store)."""

    def __init__(self, task_group: TaskGroup) -> None:
        self.task_group = task_group

    def start_soon(self, func: Callable[..., Awaitable[Any]], *args: Any, name: object = None) -> None:
        async def guarded() -> None:
            try:
                await func(*args)
            except Exception:
                log.exception("background task %s failed", name or getattr(func, "__name__", func))

        self.task_group.start_soon(guarded, name=name)


async def _recover(live: LiveRuns) -> None:
    """Continue, as live runs, the unfinished runs whose lease has expired; then keep watching, so
    a run of another process that dies is taken over once its lease expires."""
    workspace = live.workspace
    while True:
        for summary in await workspace.recoverable():
            if summary.run_id not in live.runs:
                log.info("continuing unfinished run %s", summary.run_id)
                live.recover(summary.run_id, summary.graph_id)
        await workspace.clock.sleep(workspace.lease)


async def _watch_waits(live: LiveRuns) -> None:
    """Fire durable timers as they fall due (also those that fell due while the server was
    down) and continue woken waiting runs, as live runs."""
    await live.workspace.watch_waits(start=live.continue_woken)


class Server:
    """The app's lifetime: one task holds the store and the runs' task group open.

    NiceGUI runs an async startup handler as a task without waiting for it, so the server may
    accept requests before the pages exist: ``ReadyGate`` holds them until ``ready`` is set.
    (asyncio events: they are created before NiceGUI's loop runs, which anyio's cannot be.)
    """

    def __init__(self, db: Path, registry: graphflow.Registry, token: str | None, *,
                 reload_plugins: bool = False) -> None:
        self.db, self.registry, self.token = db, registry, token
        self.reload_plugins = reload_plugins
        self.ready, self.stopping, self.stopped = asyncio.Event(), asyncio.Event(), asyncio.Event()
        self.error: BaseException | None = None

    async def main(self) -> None:
        try:
            async with contextlib.AsyncExitStack() as stack:
                store = await stack.enter_async_context(open_store(self.db))
                task_group = await stack.enter_async_context(anyio.create_task_group())
                workspace = Workspace(store, self.registry)
                await workspace.load_breakers()
                samples = await import_samples(workspace)
                if samples:
                    log.info("added %d sample graphs", len(samples))
                runs = Supervised(task_group)
                live = LiveRuns(workspace, runs)  # type: ignore[arg-type]  # start_soon is all it uses
                runs.start_soon(_recover, live, name="recover unfinished runs")
                runs.start_soon(_watch_waits, live, name="timers and woken runs")
                if self.reload_plugins:
                    runs.start_soon(PluginWatcher(self.registry).run, name="plugin watcher")
                register_pages(AppContext(workspace, self.registry, live, self.token, self.reload_plugins))
                self.ready.set()
                await self.stopping.wait()
                task_group.cancel_scope.cancel()  # unfinished runs are continued at the next start
        except Exception as exc:
            self.error = exc
            log.exception("graphflow could not start")
            app.shutdown()
        finally:
            self.ready.set()
            self.stopped.set()

    async def shutdown(self) -> None:
        self.stopping.set()
        if self.ready.is_set():
            await self.stopped.wait()


class ReadyGate:
    """ASGI middleware: every request waits until the pages are registered."""

    def __init__(self, app: ASGIApp, server: Server) -> None:
        self.app, self.server = app, server

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan" and not self.server.ready.is_set():
            await self.server.ready.wait()
        await self.app(scope, receive, send)


def start(host: str, port: int, db: Path, token: str | None, plugins: list[str],
          allowed: list[str] | None = None, reload_plugins: bool = False) -> None:
    """Serve the canvas until interrupted (blocking). ``allowed``: more Host names to answer to;
    ``reload_plugins``: import the plugins again whenever one of their files changes."""
    check_bind(host, token)
    registry = graphflow.default_registry(plugins)
    try:
        anyio.run(_check_store, db)  # a bad path or a newer database fails here, with one line
    except BaseExceptionGroup as group:  # open_store's task group: the error inside, as itself
        raise group.exceptions[0] if len(group.exceptions) == 1 else group from None
    server = Server(db, registry, token, reload_plugins=reload_plugins)
    app.add_middleware(ReadyGate, server=server)
    if token:
        app.add_middleware(TokenGuard, token=token)
    app.add_middleware(SecurityGuard, allowed=allowed_hosts(host, port, allowed or ()), upload_limit=MAX_BYTES)
    core.sio.eio.cors_allowed_origins = []  # no CORS headers at all; SecurityGuard checks Origin
    app.on_startup(server.main)
    app.on_shutdown(server.shutdown)
    ui.run(host=host, port=port, reload=False, show=False, title="graphflow", tailwind=False,
           show_welcome_message=True, favicon="🔀")
    if server.error is not None:
        raise StartFailed(f"could not start: {server.error}")


async def _check_store(db: Path) -> None:
    async with open_store(db):
        pass
