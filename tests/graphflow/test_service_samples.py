"""Samples reach existing databases: new ones are added, a newer release of one becomes a new
version when the user never saved over it, else a graph of its own; a user's edit is never
overwritten and a deleted sample stays deleted."""

from __future__ import annotations

from typing import Any

import pytest

import graphflow
from graphflow.memory import MemoryStore
from graphflow.model import GraphSpec
from graphflow.service import Workspace

pytestmark = pytest.mark.anyio


def sample(graph_id: str = "demo", value: Any = 1, name: str = "Demo") -> GraphSpec:
    return graphflow.load_graph({"schema_version": 1, "id": graph_id, "name": name, "nodes": [
        {"id": "c", "kind": "constant", "config": {"value": value}},
        {"id": "o", "kind": "output", "config": {"name": "out"}}],
        "edges": [{"id": "e", "source": "c", "target": "o"}]})


@pytest.fixture
def workspace() -> Workspace:
    return Workspace(MemoryStore(), graphflow.default_registry())


async def ids(workspace: Workspace) -> list[str]:
    return sorted(g.graph_id for g in await workspace.graphs())


async def test_first_start_adds_every_sample_and_a_second_start_nothing(workspace: Workspace) -> None:
    assert len(await workspace.add_samples([sample(), sample("other")])) == 2
    assert await workspace.add_samples([sample(), sample("other")]) == []
    assert await ids(workspace) == ["demo", "other"]


async def test_a_new_sample_reaches_an_existing_database(workspace: Workspace) -> None:
    await workspace.save(sample("mine", name="My own graph"))
    await workspace.add_samples([sample()])
    added = await workspace.add_samples([sample(), sample("later")])
    assert [v.graph_id for v in added] == ["later"]
    assert await ids(workspace) == ["demo", "later", "mine"]


async def test_a_newer_sample_is_a_new_version_of_an_unedited_copy(workspace: Workspace) -> None:
    await workspace.add_samples([sample(value=1)])
    added = await workspace.add_samples([sample(value=2)])
    assert [(v.graph_id, v.version) for v in added] == [("demo", 2)]
    assert (await workspace.graph("demo")).spec.nodes[0].config["value"] == 2
    assert await workspace.add_samples([sample(value=2)]) == []


async def test_a_newer_sample_never_overwrites_a_users_edit(workspace: Workspace) -> None:
    await workspace.add_samples([sample(value=1)])
    edited = await workspace.save(sample(value=99, name="Demo, edited"))
    added = await workspace.add_samples([sample(value=2)])
    assert [(v.graph_id, v.version, v.spec.name) for v in added] == [("demo_sample", 1, "Demo (new sample)")]
    assert (await workspace.graph("demo")).spec == edited.spec
    # the copy is the sample's graph now: its next release updates the copy, still not the user's graph
    again = await workspace.add_samples([sample(value=3)])
    assert [(v.graph_id, v.version) for v in again] == [("demo_sample", 2)]
    assert (await workspace.graph("demo")).version == edited.version


async def test_a_graph_of_the_users_with_a_samples_id_is_left_alone(workspace: Workspace) -> None:
    await workspace.save(sample(value=42, name="Mine"))
    added = await workspace.add_samples([sample()])
    assert [v.graph_id for v in added] == ["demo_sample"]
    assert (await workspace.graph("demo")).spec.name == "Mine"


async def test_a_sample_already_there_from_an_older_release_is_recorded_not_added(workspace: Workspace) -> None:
    await workspace.store.save_graph(sample())  # imported before samples were recorded
    assert [v.version for v in await workspace.add_samples([sample()])] == [1]
    assert await ids(workspace) == ["demo"]
    assert [(v.graph_id, v.version) for v in await workspace.add_samples([sample(value=2)])] == [("demo", 2)]


async def test_a_deleted_sample_stays_deleted(workspace: Workspace) -> None:
    await workspace.add_samples([sample()])
    await workspace.delete("demo")
    assert await workspace.add_samples([sample()]) == []
    assert await workspace.add_samples([sample(value=2)]) == []
    assert await ids(workspace) == []


async def test_a_sample_that_does_not_validate_here_is_skipped(workspace: Workspace) -> None:
    broken = graphflow.load_graph({"schema_version": 1, "id": "needs_plugin", "nodes": [
        {"id": "f", "kind": "function", "config": {"function": "plugin.missing"}}], "edges": []})
    assert [v.graph_id for v in await workspace.add_samples([broken, sample()])] == ["demo"]
