"""Fixtures for the history, replay and stats pages.

``app``: a workspace on a temporary database (the history graph and three stored runs),
an ``AppContext`` around it, and the list of node calls (``app.calls``).

``user``: NiceGUI's simulated user (no browser) on an app that has only these pages, plus
a stub of the editor page (``/graph/{id}``) that shows its ``run`` query parameter. It is
NiceGUI's ``user_simulation`` with the pages registered inside its reset of NiceGUI's
globals. That reset also drops from ``sys.modules`` every module that defined a page
(``graphflow.ui.pages.*`` and its parents ``graphflow``...): they are put back afterwards,
so the rest of the session keeps one copy of each class. A server that browser tests run
in a thread of this process cannot survive that reset, so the tests that use ``user`` run
first (``pytest_collection_modifyitems`` in tests/conftest.py), and NiceGUI is reset once more after them.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio
import httpx
import pytest
from history_support import registry_with, seed

from graphflow.service import Workspace
from graphflow.storage import open_store


@dataclass
class HistoryApp:
    ctx: object
    runs: dict[str, str]
    calls: list[str] = field(default_factory=list)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def app(tmp_path) -> AsyncIterator[HistoryApp]:
    from graphflow.ui.context import AppContext, LiveRuns

    calls: list[str] = []
    registry = registry_with(calls.append)
    async with open_store(tmp_path / "gf.db") as store:
        workspace = Workspace(store, registry)
        runs = await seed(workspace)
        async with anyio.create_task_group() as tasks:
            ctx = AppContext(workspace, registry, LiveRuns(workspace, tasks))
            yield HistoryApp(ctx, runs, calls)
            tasks.cancel_scope.cancel()


@asynccontextmanager
async def simulated_user(ctx: object) -> AsyncIterator[object]:
    from nicegui import core, ui
    from nicegui.functions.download import download
    from nicegui.functions.navigate import Navigate
    from nicegui.functions.notify import notify
    from nicegui.testing.general import nicegui_reset_globals, prepare_simulation
    from nicegui.testing.user import User

    from graphflow.ui.pages import history, replay, stats

    modules = dict(sys.modules)
    try:
        with nicegui_reset_globals():
            os.environ["NICEGUI_USER_SIMULATION"] = "true"
            try:
                for page in (history, replay, stats):
                    page.register(ctx)  # type: ignore[arg-type]

                @ui.page("/graph/{graph_id}")
                def editor_stub(graph_id: str, run: str = "") -> None:
                    ui.label(f"editor {graph_id} following {run}").mark("editor-stub")

                prepare_simulation()
                ui.run(storage_secret="simulated secret")
                async with core.app.router.lifespan_context(core.app):
                    transport = httpx.ASGITransport(core.app)
                    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                        yield User(client)
            finally:
                os.environ.pop("NICEGUI_USER_SIMULATION", None)
                ui.navigate = Navigate()
                ui.notify = notify
                ui.download = download
    finally:
        for name, module in modules.items():
            sys.modules.setdefault(name, module)


@pytest.fixture(scope="module")
def fresh_nicegui_afterwards() -> Iterator[None]:
    """After a module's simulated-user tests, leave NiceGUI as a fresh process has it, so a
    server started later in this process can start (once per module: it costs two gc passes)."""
    yield
    from nicegui.testing.general import nicegui_reset_globals

    modules = dict(sys.modules)
    with nicegui_reset_globals():
        pass
    for name, module in modules.items():
        sys.modules.setdefault(name, module)


@pytest.fixture
async def user(app: HistoryApp, caplog: pytest.LogCaptureFixture,
               fresh_nicegui_afterwards: None) -> AsyncIterator[object]:
    async with simulated_user(app.ctx) as simulated:
        yield simulated
    errors = [r for r in caplog.get_records("call") if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]
