"""The graph list page with NiceGUI's simulated user: samples on first start, import (valid and
invalid), export, new, rename, duplicate, delete."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from nicegui import ui
from nicegui.elements.upload_files import SmallFileUpload

from graphflow.naming import slug, unique_id
from graphflow.ports import NotFound
from graphflow.ui.pages.graphs import rejection
from graphflow.validate import MAX_BYTES

pytestmark = pytest.mark.anyio
SAMPLES = Path(__file__).resolve().parents[3] / "sample_graphs"
SAMPLE_IDS = sorted(p.stem for p in SAMPLES.glob("*.json"))

TINY = {"schema_version": 1, "id": "tiny", "name": "Tiny", "nodes": [
    {"id": "c", "kind": "constant", "config": {"value": 3}},
    {"id": "o", "kind": "output", "config": {"name": "result"}}],
    "edges": [{"id": "e1", "source": "c", "target": "o"}]}


async def upload(user, name: str, data: bytes) -> None:
    element = next(iter(user.find(ui.upload).elements))
    await element.handle_uploads([SmallFileUpload(name, "application/json", data)])


async def stored_ids(ctx) -> list[str]:
    return sorted(g.graph_id for g in await ctx.workspace.store.list_graphs())


async def test_first_start_lists_the_samples(user, ctx):
    assert await stored_ids(ctx) == SAMPLE_IDS
    await user.open("/")
    for graph_id in SAMPLE_IDS:
        await user.should_see(graph_id)
    await user.should_see("Failure handling: retry, circuit breaker, fallback, degradation")


async def test_import_a_valid_file_stores_it(user, ctx):
    await user.open("/")
    await upload(user, "tiny.json", json.dumps(TINY).encode())
    await user.should_see("imported tiny version 1")
    await user.should_see("Tiny")
    stored = await ctx.workspace.store.get_graph("tiny")
    assert stored.spec.model_dump(mode="json")["nodes"][0]["config"] == {"value": 3}


async def test_import_an_invalid_file_shows_each_problem_and_stores_nothing(user, ctx):
    bad = json.loads(json.dumps(TINY))
    bad["id"] = "broken"
    bad["nodes"].append({"id": "x", "kind": "no.such.kind"})
    bad["edges"].append({"id": "e2", "source": "c", "target": "ghost"})
    await user.open("/")
    await upload(user, "broken.json", json.dumps(bad).encode())
    await user.should_see("broken.json was not imported")
    await user.should_see("[dangling_edge] edge 'e2': target node 'ghost' does not exist")
    await upload(user, "broken.json", json.dumps({**bad, "edges": TINY["edges"]}).encode())
    await user.should_see("[unknown_kind] node 'x'")
    await upload(user, "junk.json", b"{not json")
    await user.should_see("[not_json]")
    assert await stored_ids(ctx) == SAMPLE_IDS


async def test_a_file_that_is_not_json_is_refused_by_name_not_by_size(user, ctx):
    """The browser filters on .json, but a request can skip the browser: the server checks the name too."""
    await user.open("/")
    await upload(user, "tiny.txt", json.dumps({**TINY, "id": "from_txt"}).encode())
    await user.should_see("tiny.txt was not imported: only .json graph files can be imported")
    assert await stored_ids(ctx) == SAMPLE_IDS


def test_the_browsers_refusal_says_why():
    assert rejection([["notes.txt", "accept"]]) == "not imported: notes.txt: only .json graph files can be imported"
    assert rejection([["big.json", "max-file-size"]]) == f"not imported: big.json: the limit is {MAX_BYTES:,} bytes"
    assert rejection("junk") == "not imported: the file was refused"


async def test_export_downloads_the_stored_json(user, ctx):
    await user.open("/")
    user.find(marker="export-resilience_demo").click()
    response = await user.download.next()
    stored = await ctx.workspace.store.get_graph("resilience_demo")
    assert json.loads(response.content) == stored.spec.model_dump(mode="json")


async def test_rename_is_a_new_version_with_the_new_name(user, ctx):
    await user.open("/")
    user.find(marker="rename-sequential_chain").click()
    await user.should_see(marker="dialog-input")
    user.find(marker="dialog-input").clear().type("Sign-up flow")
    user.find(marker="dialog-ok").click()
    await user.should_see("renamed: version 2")
    stored = await ctx.workspace.store.get_graph("sequential_chain")
    assert (stored.version, stored.spec.name) == (2, "Sign-up flow")
    await user.should_see("Sign-up flow")


async def test_duplicate_is_a_new_graph_with_a_new_id(user, ctx):
    await user.open("/")
    user.find(marker="duplicate-decision_tree").click()
    await user.should_see(marker="dialog-ok")
    user.find(marker="dialog-ok").click()
    await user.should_see("duplicated as decision_tree_copy")
    original = await ctx.workspace.store.get_graph("decision_tree")
    copy = await ctx.workspace.store.get_graph("decision_tree_copy")
    assert copy.spec.name == f"{original.spec.name} (copy)"
    assert copy.spec.nodes == original.spec.nodes and copy.spec.edges == original.spec.edges


async def test_delete_asks_first(user, ctx):
    await user.open("/")
    user.find(marker="delete-parallel_enrichment").click()
    await user.should_see("Delete Parallel enrichment")
    user.find("Cancel").click()
    assert "parallel_enrichment" in await stored_ids(ctx)
    user.find(marker="delete-parallel_enrichment").click()
    await user.should_see(marker="dialog-ok")
    user.find(marker="dialog-ok").click()
    await user.should_see("deleted parallel_enrichment")
    with pytest.raises(NotFound):
        await ctx.workspace.store.get_graph("parallel_enrichment")


async def test_new_graph_opens_the_editor(user, ctx):
    await user.open("/")
    user.find(marker="new-graph").click()
    await user.should_see(marker="dialog-input")
    user.find(marker="dialog-input").type("My flow!")
    user.find(marker="dialog-ok").click()
    await user.should_see("version 1")
    stored = await ctx.workspace.store.get_graph("My_flow")
    assert stored.spec.name == "My flow!" and stored.spec.nodes == ()


def test_ids_from_names():
    assert slug("My flow!") == "My_flow"
    assert slug("2024 report") == "graph_2024_report"
    assert slug("!!!") == "graph"
    assert unique_id("a", ["a", "a_2"]) == "a_3"
