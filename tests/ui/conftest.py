"""Browser fixtures for the canvas: NiceGUI served from a thread of the test process, Debian's chromium.

How the app is served, and why:
- NiceGUI runs in a daemon thread of this process (uvicorn on a free port), started once per session
  by the ``nicegui_server`` fixture (a process can run ``ui.run`` only once: other browser tests
  should register their pages on this server too). Under pytest ``ui.run()`` ignores ``port=`` and
  reads ``NICEGUI_SCREEN_TEST_PORT``, so the fixture sets that variable first. A thread (rather than
  a subprocess running a demo script) lets a test read the typed events Python received and call
  the element's methods directly: calls are marshalled onto NiceGUI's loop (``Scene.call``).
  NiceGUI's own screen tests run ``ui.run`` in a thread the same way. Pages registered with
  ``ui.page`` after the server started are served too.
- Each test describes a *scene* (kinds, graph, element options) and opens it at
  ``/canvas-test/<token>``; the page builds a ``GraphCanvas`` and records every event it emits in
  the scene. Scenes are per test, so tests do not share canvas state.
- Chromium: launched as tests/conftest.py says (Debian's ``/usr/bin/chromium``). One browser per session,
  a fresh context (pytest-playwright's ``page``) per test.
"""

from __future__ import annotations

import concurrent.futures
import itertools
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest


@dataclass
class Scene:
    """One canvas page: what it shows, and what its Python side has received."""

    kinds: list[dict[str, Any]]
    graph: dict[str, Any]
    options: dict[str, Any] = field(default_factory=dict)
    canvas: Any = None
    events: list[tuple[str, Any]] = field(default_factory=list)

    def received(self, name: str) -> list[Any]:
        return [event for kind, event in list(self.events) if kind == name]

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
        """Poll until ``predicate()`` is truthy (events arrive on the server thread)."""
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout} s; events: {[k for k, _ in self.events]}")
            time.sleep(0.02)

    def call(self, fn: Callable[[Any], Any], timeout: float = 5.0) -> Any:
        """Run ``fn(canvas)`` on NiceGUI's event loop and return its result."""
        from nicegui import core

        future: concurrent.futures.Future[Any] = concurrent.futures.Future()

        def run() -> None:
            try:
                future.set_result(fn(self.canvas))
            except Exception as exc:  # handed to the test thread
                future.set_exception(exc)

        core.loop.call_soon_threadsafe(run)
        return future.result(timeout=timeout)


@dataclass
class CanvasApp:
    base_url: str
    scenes: dict[str, Scene]
    tokens: Iterator[int] = field(default_factory=itertools.count)

    def add(self, kinds: list[dict[str, Any]], graph: dict[str, Any], **options: Any) -> tuple[str, Scene]:
        token = f"s{next(self.tokens)}"
        scene = Scene(kinds=kinds, graph=graph, options=options)
        self.scenes[token] = scene
        return f"{self.base_url}/canvas-test/{token}", scene


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def nicegui_server() -> Iterator[str]:
    """The base URL of the NiceGUI app serving this session's test pages (register pages with ``ui.page``)."""
    from nicegui import ui
    from nicegui.server import Server

    port = _free_port()
    os.environ["NICEGUI_SCREEN_TEST_PORT"] = str(port)
    # tailwind=False: the in-browser Tailwind compiler costs ~0.4 s per page load, and the canvas does not use it
    options = {"host": "127.0.0.1", "port": port, "show": False, "reload": False, "tailwind": False,
               "uvicorn_logging_level": "warning"}
    thread = threading.Thread(target=ui.run, kwargs=options, name="nicegui", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the NiceGUI test server did not start") from None
            time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    Server.instance.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def canvas_app(nicegui_server: str) -> CanvasApp:
    from nicegui import ui

    from graphflow.ui.canvas import GraphCanvas

    scenes: dict[str, Scene] = {}

    @ui.page("/canvas-test/{token}")
    def canvas_page(token: str) -> None:
        scene = scenes[token]
        canvas = GraphCanvas(scene.kinds, scene.graph, **scene.options).style("height: 700px")
        for name in ("change", "select", "connect_refused", "save", "run"):
            getattr(canvas, f"on_{name}")(lambda e, name=name: scene.events.append((name, e)))
        scene.canvas = canvas

    return CanvasApp(base_url=nicegui_server, scenes=scenes)


@pytest.fixture(scope="session")
def shared_context(browser: Any, browser_context_args: dict[str, Any]) -> Iterator[Any]:
    """One browser context for the session: its HTTP cache keeps NiceGUI's and Vue Flow's scripts."""
    context = browser.new_context(**browser_context_args)
    yield context
    context.close()


@pytest.fixture
def page(shared_context: Any) -> Iterator[Any]:
    """A fresh tab per test (pytest-playwright's own ``page`` makes a fresh context, cache and all)."""
    page = shared_context.new_page()
    yield page
    page.close()
