"""Reloading plugins: what they registered is replaced in one step, a failing reload changes
nothing, and a run in flight finishes on the code it was compiled with."""

from __future__ import annotations

import uuid
from pathlib import Path

import anyio
import pytest

import graphflow
from graphflow.errors import RegistryError
from graphflow.memory import MemoryStore
from graphflow.registry import Registry, default_registry
from graphflow.service import Workspace
from tests.graphflow.graphs import edge, fn, graph, node

pytestmark = pytest.mark.anyio

PLUGIN = '''
import anyio

GATE = anyio.Event()


def shout(text: str) -> str:
    return text.upper() + "{suffix}"


async def held(text: str) -> str:
    await GATE.wait()
    return "{suffix}"


def register(registry):
    registry.register_function("{name}.shout", shout)
    registry.register_function("{name}.held", held)
'''


def write_plugin(path: Path, name: str, suffix: str) -> None:
    path.write_text(PLUGIN.replace("{name}", name).replace("{suffix}", suffix))


@pytest.fixture
def plugin(tmp_path: Path) -> tuple[Path, str]:
    name = f"reload_{uuid.uuid4().hex[:8]}"
    path = tmp_path / f"{name}.py"
    write_plugin(path, name, "!")
    return path, name


def shout_graph(name: str, function: str = "shout") -> dict[str, object]:
    return graph(node("t", "input", name="t", type="string"), fn("f", f"{name}.{function}"),
                 node("o", "output", name="o"), edge("t", "f"), edge("f", "o"), graph_id=f"g_{function}")


async def test_a_reload_replaces_the_plugins_functions_and_keeps_the_rest(plugin: tuple[Path, str]) -> None:
    path, name = plugin
    registry = default_registry([str(path)], installed=False)
    registry.register_function("direct.echo", lambda value: value)
    compiled = graphflow.validate_graph(shout_graph(name), registry)
    assert (await graphflow.run(compiled, {"t": "hi"})).outputs == {"o": "HI!"}
    write_plugin(path, name, "?")
    assert registry.reload_plugins() == [str(path.resolve())]
    assert registry.generation == 1
    assert "direct.echo" in registry.functions and "function" in registry.kinds
    again = graphflow.validate_graph(shout_graph(name), registry)
    assert (await graphflow.run(again, {"t": "hi"})).outputs == {"o": "HI?"}
    assert (await graphflow.run(compiled, {"t": "hi"})).outputs == {"o": "HI!"}  # compiled before: the old code


async def test_a_plugin_that_no_longer_imports_changes_nothing(plugin: tuple[Path, str]) -> None:
    path, name = plugin
    registry = default_registry([str(path)], installed=False)
    before = dict(registry.functions)
    path.write_text("def register(registry):\n    return (\n")
    with pytest.raises(RegistryError, match="SyntaxError") as caught:
        registry.reload_plugins()
    assert "\n" not in str(caught.value)
    assert registry.functions == before and registry.generation == 0
    compiled = graphflow.validate_graph(shout_graph(name), registry)
    assert (await graphflow.run(compiled, {"t": "hi"})).outputs == {"o": "HI!"}


async def test_a_function_removed_from_the_plugin_is_gone_after_a_reload(plugin: tuple[Path, str]) -> None:
    path, name = plugin
    registry = Registry()
    registry.load_plugin(str(path))
    path.write_text(f"def register(registry):\n    registry.register_function('{name}.only', lambda v: v)\n")
    registry.reload_plugins()
    assert sorted(registry.functions) == [f"{name}.only"]


async def test_a_run_in_flight_keeps_its_code_and_the_next_run_gets_the_new(plugin: tuple[Path, str]) -> None:
    path, name = plugin
    registry = default_registry([str(path)], installed=False)
    workspace = Workspace(MemoryStore(), registry)
    stored = await workspace.save(shout_graph(name, "held"))
    old_gate = registry.functions[f"{name}.held"].fn.__globals__["GATE"]
    results: list[graphflow.RunResult] = []

    async def first() -> None:
        results.append(await workspace.run(stored, {"t": "x"}))

    async with anyio.create_task_group() as tg:
        tg.start_soon(first)
        await anyio.wait_all_tasks_blocked()
        write_plugin(path, name, "new")
        registry.reload_plugins()
        new_gate = registry.functions[f"{name}.held"].fn.__globals__["GATE"]
        assert new_gate is not old_gate  # the file ran again as a new module
        new_gate.set()
        second = await workspace.run(stored, {"t": "x"})  # compiled again: the new code
        assert second.outputs == {"o": "new"}
        old_gate.set()
    assert results[0].outputs == {"o": "!"}
