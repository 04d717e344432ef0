"""The application service over a store: one compile per saved version, runs that cannot
start recorded, cancel, breaker reset, graph operations."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

import graphflow
from graphflow import compile as compile_module
from graphflow.errors import NotFound
from graphflow.memory import MemoryStore
from graphflow.ports import Store
from graphflow.service import RunRefused, Workspace

pytestmark = pytest.mark.anyio


def graph(graph_id: str = "g", value: Any = 7, **extra: Any) -> dict[str, Any]:
    return {"schema_version": 1, "id": graph_id, "name": graph_id, "nodes": [
        {"id": "x", "kind": "input", "config": {"name": "x", "type": "integer", "required": False, "default": 1}},
        {"id": "c", "kind": "constant", "config": {"value": value}},
        {"id": "o", "kind": "output", "config": {"name": "out"}}],
        "edges": [{"id": "e", "source": "c", "target": "o"}], **extra}


@pytest.fixture
def workspace() -> Workspace:
    return Workspace(MemoryStore(), graphflow.default_registry())


@pytest.fixture
def compiles(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every compile, by graph id (the compiler itself is the real one)."""
    seen: list[str] = []
    real = compile_module.compile_graph

    def counting(spec: Any, registry: Any) -> Any:
        seen.append(spec.id)
        return real(spec, registry)

    monkeypatch.setattr("graphflow.api.compile_graph", counting)
    return seen


def test_a_memory_store_is_a_store() -> None:
    store: Store = MemoryStore()  # checked by pyright; at run time, the methods are there
    assert all(callable(getattr(store, name)) for name in ("save_graph", "publish", "flush", "put", "delete"))


async def test_save_then_run_compiles_once(workspace: Workspace, compiles: list[str]) -> None:
    compiled = workspace.validate(graph())
    stored = await workspace.save(compiled)
    first = await workspace.run(stored, {})
    second = await workspace.run("g", {"x": 2})
    assert (first.status, second.status, first.outputs) == ("succeeded", "succeeded", {"out": 7})
    assert compiles == ["g"]


async def test_a_new_workspace_compiles_a_stored_version_once(workspace: Workspace, compiles: list[str]) -> None:
    await workspace.save(graph())
    again = Workspace(workspace.store, workspace.registry)
    for _ in range(3):
        assert (await again.run("g")).ok
    assert compiles == ["g", "g"]


async def test_saving_the_same_graph_makes_no_new_version(workspace: Workspace) -> None:
    assert (await workspace.save(graph())).version == 1
    assert (await workspace.save(graph())).version == 1
    assert (await workspace.save(graph(value=8))).version == 2


async def test_a_run_with_wrong_inputs_is_recorded_as_failed(workspace: Workspace) -> None:
    stored = await workspace.save(graph())
    log = graphflow.EventLog()
    result = await workspace.run(stored, {"x": "not a number"}, sinks=[log])
    assert result.status == "failed" and "could not start" in (result.error or "")
    summary = await workspace.run_summary(result.run_id)
    assert (summary.status, summary.graph_version) == ("failed", 1)
    assert "could not start" in (summary.error or "")
    assert [e.kind for e in await workspace.events(result.run_id)] == ["run_started", "run_finished"]
    assert log.closed and log.events[-1].at > 0


async def test_a_stored_graph_that_no_longer_validates_is_a_recorded_failed_run(workspace: Workspace) -> None:
    await workspace.store.save_graph(graphflow.load_graph({**graph(), "nodes": [
        {"id": "f", "kind": "function", "config": {"function": "no.such.function"}}], "edges": []}))
    result = await workspace.run("g")
    assert result.status == "failed" and "no.such.function" in (result.error or "")
    assert (await workspace.runs("g"))[0].status == "failed"


async def test_an_unknown_graph_is_not_found(workspace: Workspace) -> None:
    with pytest.raises(NotFound):
        await workspace.run("nope")


async def test_cancel_stops_a_run_going_on(workspace: Workspace) -> None:
    registry = graphflow.default_registry()

    async def slow(value: Any) -> Any:
        await anyio.sleep(30)

    registry.register_function("svc.slow", slow)
    workspace = Workspace(MemoryStore(), registry)
    spec = {**graph(), "nodes": [{"id": "c", "kind": "constant", "config": {"value": 1}},
                                 {"id": "s", "kind": "function", "config": {"function": "svc.slow"}}],
            "edges": [{"id": "e", "source": "c", "target": "s"}]}
    stored = await workspace.save(spec)
    started = anyio.Event()

    class Started:
        async def publish(self, event: Any) -> None:
            if event.kind == "node_started" and event.node_id == "s":
                started.set()

    results: list[Any] = []
    async with anyio.create_task_group() as tg:
        tg.start_soon(lambda: _append(results, workspace.run(stored, run_id="r", sinks=[Started()])))
        with anyio.fail_after(5):
            await started.wait()
        assert workspace.running() == ["r"] and workspace.cancel("r", "enough")
    assert results[0].status == "cancelled"
    assert not workspace.cancel("r") and workspace.running() == []


async def _append(results: list[Any], work: Any) -> None:
    results.append(await work)


async def test_resume_refuses_a_finished_run(workspace: Workspace) -> None:
    done = await workspace.run(await workspace.save(graph()))
    with pytest.raises(RunRefused, match="never changed"):
        await workspace.resume(done.run_id)


async def test_reset_breaker_closes_it_and_forgets_the_saved_state(workspace: Workspace) -> None:
    await workspace.store.put("breakers", "crm", {"state": "open"})
    await workspace.load_breakers()
    assert await workspace.reset_breaker("crm")
    assert await workspace.store.items("breakers") == {}
    assert not await workspace.reset_breaker("crm")


async def test_graph_operations(workspace: Workspace) -> None:
    created = await workspace.create("My flow!")
    assert created.graph_id == "My_flow"
    await workspace.save(graph("My_flow"))
    renamed = await workspace.rename("My_flow", "Renamed")
    copy = await workspace.duplicate("My_flow", "Copy")
    assert (renamed.version, renamed.spec.name, copy.graph_id) == (3, "Renamed", "My_flow_copy")
    _, text = await workspace.export("My_flow")
    assert graphflow.load_graph(text).name == "Renamed"
    imported = await workspace.import_graph(text.replace('"My_flow"', '"other"'))
    assert imported.graph_id == "other"
    await workspace.delete("My_flow")
    assert sorted(g.graph_id for g in await workspace.graphs()) == ["My_flow_copy", "other"]


async def test_a_save_over_a_newer_version_is_a_conflict_until_based_on_it(workspace: Workspace) -> None:
    from graphflow.errors import VersionConflict

    await workspace.save(graph())
    await workspace.save(graph(value=8), base_version=1)  # another tab: version 2
    with pytest.raises(VersionConflict, match="version 2 was saved after version 1") as caught:
        await workspace.save(graph(value=9), base_version=1)
    assert (caught.value.base_version, caught.value.latest) == (1, 2)
    assert await workspace.store.list_versions("g") == [1, 2]
    assert (await workspace.save(graph(value=8), base_version=1)).version == 2  # the same graph: no conflict
    assert (await workspace.save(graph(value=9), base_version=2)).version == 3  # overwrite, as a new version


async def test_restore_saves_an_old_version_as_the_newest(workspace: Workspace) -> None:
    for value in (1, 2):
        await workspace.save(graph(value=value))
    restored = await workspace.restore("g", 1)
    assert restored.version == 3 and restored.spec == (await workspace.graph("g", 1)).spec
    assert [v.version for v in await workspace.versions("g")] == [3, 2, 1]
    assert (await workspace.restore("g", 3)).version == 3
    with pytest.raises(NotFound):
        await workspace.restore("g", 9)


async def test_drafts_are_kept_apart_from_versions(workspace: Workspace) -> None:
    await workspace.save(graph())
    half = {**graph(), "nodes": [{"id": "x", "kind": "nope"}]}
    draft = await workspace.keep_draft("g", 1, half)
    assert (await workspace.draft("g")) == draft and draft.graph == half
    assert await workspace.store.list_versions("g") == [1]
    assert (await workspace.run("g")).status == "succeeded"  # runs the version, never the draft
    assert await workspace.discard_draft("g") and await workspace.draft("g") is None
