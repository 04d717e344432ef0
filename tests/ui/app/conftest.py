"""Fixtures for the app shell, the graph list and the editor.

``ctx``: an ``AppContext`` on a temporary database with the sample graphs imported (as on a
first start) and a task group for the runs started from pages.

``user``: NiceGUI's simulated user (no browser) on the whole app (``create_app(ctx)``). It is
NiceGUI's ``user_simulation`` with the pages registered inside its reset of NiceGUI's globals;
that reset drops every module that defined a page (``graphflow.ui.pages.*`` and its parents,
``graphflow`` included) from ``sys.modules``, so they are put back afterwards and the session
keeps one copy of each class.

``served``: ``graphflow serve`` in a subprocess on a free port and a temporary database, for
the browser tests (one server per session; the test process' NiceGUI is left alone).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from app_support import Served, start_server, stop_server

import graphflow
from graphflow.service import Workspace
from graphflow.storage import open_store


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def ctx(tmp_path: Path) -> AsyncIterator[Any]:
    from graphflow.ui.app import Supervised, import_samples
    from graphflow.ui.context import AppContext, LiveRuns

    registry = graphflow.default_registry()
    async with open_store(tmp_path / "gf.db") as store:
        workspace = Workspace(store, registry)
        await workspace.load_breakers()
        await import_samples(workspace)
        async with anyio.create_task_group() as tasks:
            yield AppContext(workspace, registry, LiveRuns(workspace, Supervised(tasks)))  # type: ignore[arg-type]
            tasks.cancel_scope.cancel()


@asynccontextmanager
async def simulated_user(ctx: Any) -> AsyncIterator[Any]:
    from nicegui import core, ui
    from nicegui.functions.download import download
    from nicegui.functions.navigate import Navigate
    from nicegui.functions.notify import notify
    from nicegui.testing.general import nicegui_reset_globals, prepare_simulation
    from nicegui.testing.user import User

    from graphflow.ui.app import create_app

    modules = dict(sys.modules)
    try:
        with nicegui_reset_globals():
            os.environ["NICEGUI_USER_SIMULATION"] = "true"
            try:
                prepare_simulation()
                ui.run(storage_secret="simulated secret")
                create_app(ctx)
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
        with nicegui_reset_globals():  # leave NiceGUI as a fresh process has it, for a server started later
            pass
        for name, module in modules.items():
            sys.modules.setdefault(name, module)


@pytest.fixture
async def user(ctx: Any, caplog: pytest.LogCaptureFixture) -> AsyncIterator[Any]:
    async with simulated_user(ctx) as simulated:
        yield simulated
    errors = [r for r in caplog.get_records("call") if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    server = start_server(tmp_path_factory.mktemp("served"))
    yield server
    stop_server(server)
