from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def isolated_database(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test (nor a command it starts) touches the user's database or shares breakers."""
    monkeypatch.setenv("GRAPHFLOW_DB", str(tmp_path_factory.mktemp("db") / "graphflow.db"))
