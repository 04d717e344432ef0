from __future__ import annotations

import os
from typing import Any

import pytest
from needs import unavailable

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Order the session: tests with an event loop of their own (NiceGUI's simulated user,
    anyio) first, browser tests last.

    The simulated user resets NiceGUI's globals, which would break a NiceGUI server that
    browser tests serve from a thread of this process; and once pytest-playwright's sync
    API has started, its event loop runs in the main thread, so a later test that starts a
    loop of its own (``anyio.run``) fails.
    """
    def rank(item: pytest.Item) -> int:
        if "user" in getattr(item, "fixturenames", ()) or item.get_closest_marker("anyio"):
            return 0
        return 2 if item.get_closest_marker("browser") else 1

    items.sort(key=rank)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def isolated_database(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test (nor a command it starts) touches the user's database or shares breakers."""
    monkeypatch.setenv("GRAPHFLOW_DB", str(tmp_path_factory.mktemp("db") / "graphflow.db"))
    # nor the user's model providers file, nor their overrides of the default provider
    monkeypatch.setenv("GRAPHFLOW_PROVIDERS", str(tmp_path_factory.mktemp("config") / "providers.json"))
    # nor the user's credentials key
    monkeypatch.setenv("GRAPHFLOW_SECRET_KEY_FILE", str(tmp_path_factory.mktemp("key") / "secret.key"))
    for name in ("GRAPHFLOW_LLM_BASE_URL", "GRAPHFLOW_LLM_MODEL", "GRAPHFLOW_LLM_SECRET", "GRAPHFLOW_SECRET_KEY",
                 "GRAPHFLOW_HTTP_ALLOW"):
        monkeypatch.delenv(name, raising=False)


# Browser tests anywhere in the suite: ``playwright install`` cannot download browsers here, so
# pytest-playwright launches Debian's chromium through its ``browser_type_launch_args`` fixture.
@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    if not os.path.exists(CHROMIUM):
        unavailable("Debian's chromium is not installed (apt-get install -y chromium)")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "viewport": {"width": 1280, "height": 800}}


@pytest.fixture
def llm_server() -> Any:
    """A real OpenAI-compatible HTTP server on 127.0.0.1 (``tests/llm_server.py``), stopped after the test."""
    from llm_server import FakeLLM

    with FakeLLM() as server:
        yield server


@pytest.fixture
def http_server() -> Any:
    """A real HTTP server on 127.0.0.1 (``tests/http_server.py``) for the HTTP request node, stopped after the test."""
    from http_server import HttpServer

    with HttpServer() as server:
        yield server
