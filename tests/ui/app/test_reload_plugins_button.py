"""serve --reload-plugins: the graph list's Reload plugins button imports the plugins again."""

from __future__ import annotations

import dataclasses
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.ui.app.conftest import simulated_user

pytestmark = pytest.mark.anyio


def plugin_text(name: str, function: str) -> str:
    return f"def register(registry):\n    registry.register_function('{name}.{function}', lambda v: v)\n"


async def test_the_button_reloads_and_a_broken_plugin_keeps_the_old_code(ctx: Any, tmp_path: Path) -> None:
    name = f"button_{uuid.uuid4().hex[:8]}"
    path = tmp_path / f"{name}.py"
    path.write_text(plugin_text(name, "first"))
    ctx.registry.load_plugin(str(path))
    async with simulated_user(dataclasses.replace(ctx, reload_plugins=True)) as user:
        await user.open("/")
        path.write_text(plugin_text(name, "second"))
        user.find(marker="reload-plugins").click()
        await user.should_see("reloaded")
        assert f"{name}.second" in ctx.registry.functions and f"{name}.first" not in ctx.registry.functions
        path.write_text("def register(registry)\n")
        user.find(marker="reload-plugins").click()
        await user.should_see("plugins not reloaded (the previous code stays)")
        assert f"{name}.second" in ctx.registry.functions


async def test_without_the_option_there_is_no_button(user: Any) -> None:
    await user.open("/")
    await user.should_see("New graph")
    await user.should_not_see(marker="reload-plugins")
