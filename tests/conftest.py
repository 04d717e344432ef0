from __future__ import annotations

import pytest


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
