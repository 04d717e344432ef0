"""No lost work, with NiceGUI's simulated user: drafts autosaved and restored, saving with
problems keeps the draft, a save over a newer version asks, RUN runs a saved version."""

from __future__ import annotations

import copy

import anyio
import pytest
from test_editor import canvas, edit, select, widget

pytestmark = pytest.mark.anyio


async def eventually(check):
    """Poll ``check`` (the page's autosave runs on its own timer) for up to 5 s."""
    with anyio.fail_after(5):
        for _ in range(1000):  # noqa: ASYNC110 - polling storage, which has no event to wait on
            if result := await check():
                return result
            await anyio.sleep(0.05)
    raise AssertionError("never true")


def moved(user, x: float = 321.0) -> dict:
    graph = copy.deepcopy(canvas(user).graph)
    graph["nodes"][0]["position"] = {"x": x, "y": 12.0}
    return graph


async def start_run_and_see_it_run(user, ctx, version: int) -> None:
    """Start the run the dialog offers; it runs ``version`` to success, and is the graph's only run."""
    user.find(marker="start-run").click()
    await user.should_see(f"running version {version}")
    await user.should_see("succeeded", marker="run-status", retries=50)
    assert [r.graph_version for r in await ctx.workspace.runs("sequential_chain")] == [version]


async def test_edits_are_autosaved_as_a_draft_and_restored_on_return(user, ctx):
    await user.open("/graph/sequential_chain")
    edit(user, moved(user), "move")
    draft = await eventually(lambda: ctx.workspace.draft("sequential_chain"))
    assert draft.base_version == 1 and draft.graph["nodes"][0]["position"] == {"x": 321.0, "y": 12.0}
    assert await ctx.workspace.store.list_versions("sequential_chain") == [1]  # a draft is no version

    await user.open("/graph/sequential_chain")
    await user.should_see("Restored your unsaved draft from")
    await user.should_see("version 1 · unsaved changes")
    assert canvas(user).graph["nodes"][0]["position"] == {"x": 321.0, "y": 12.0}
    user.find(marker="discard-draft").click()
    await user.should_see("draft discarded")
    assert canvas(user).graph["nodes"][0]["position"] != {"x": 321.0, "y": 12.0}
    assert await ctx.workspace.draft("sequential_chain") is None


async def test_undoing_every_edit_drops_the_draft(user, ctx):
    await user.open("/graph/sequential_chain")
    original = copy.deepcopy(canvas(user).graph)
    edit(user, moved(user), "move")
    await eventually(lambda: ctx.workspace.draft("sequential_chain"))
    edit(user, original, "undo")

    async def gone():
        return await ctx.workspace.draft("sequential_chain") is None
    await eventually(gone)


async def test_saving_with_problems_keeps_the_draft_and_running_it_is_refused(user, ctx):
    await user.open("/graph/sequential_chain")
    graph = copy.deepcopy(canvas(user).graph)
    graph["nodes"].append({"id": "loose", "kind": "output", "config": {}})
    edit(user, graph, "add")
    user.find(marker="save").click()
    await user.should_see("kept as a draft, not saved as a version: 1 problem (see Problems); a draft cannot run")
    draft = await ctx.workspace.draft("sequential_chain")
    assert draft is not None and any(n["id"] == "loose" for n in draft.graph["nodes"])
    user.find(marker="run").click()
    await user.should_see("The edits have 1 problem (see Problems), so they cannot be saved as a version yet.")
    await user.should_see(marker="run-choice-saved")
    await user.should_not_see(marker="run-choice-save")
    user.find(marker="run-choice-saved").click()  # version 1, as saved
    await user.should_see(marker="input-message")
    await start_run_and_see_it_run(user, ctx, 1)


async def test_run_with_unsaved_edits_asks_and_save_and_run_runs_the_new_version(user, ctx):
    await user.open("/graph/sequential_chain")
    edit(user, moved(user), "move")
    user.find(marker="run").click()
    await user.should_see("Run runs a saved version, and these edits are not saved yet.")
    user.find(marker="run-choice-save").click()
    await user.should_see("saved version 2")
    await user.should_see(marker="start-run")
    await start_run_and_see_it_run(user, ctx, 2)


async def test_a_save_over_a_newer_version_asks_and_can_overwrite(user, ctx):
    await user.open("/graph/sequential_chain")
    other = (await ctx.workspace.graph("sequential_chain")).spec
    await ctx.workspace.save(other.model_copy(update={"description": "saved by another tab"}))  # version 2
    edit(user, moved(user), "move")
    user.find(marker="save").click()
    await user.should_see("Version 2 of this graph was saved after version 1")
    user.find(marker="conflict-keep").click()
    await user.should_see("version 1 · unsaved changes")
    assert await ctx.workspace.store.list_versions("sequential_chain") == [1, 2]
    user.find(marker="save").click()
    await user.should_see(marker="conflict-overwrite")
    user.find(marker="conflict-overwrite").click()
    await user.should_see("saved version 3")
    stored = await ctx.workspace.graph("sequential_chain")
    assert stored.version == 3 and stored.spec.nodes[0].position.x == 321.0


async def test_a_conflict_can_open_the_newer_version(user, ctx):
    await user.open("/graph/sequential_chain")
    other = (await ctx.workspace.graph("sequential_chain")).spec
    await ctx.workspace.save(other.model_copy(update={"description": "saved by another tab"}))
    edit(user, moved(user), "move")
    user.find(marker="save").click()
    await user.should_see(marker="conflict-open")
    user.find(marker="conflict-open").click()

    async def opened():
        return canvas(user).graph.get("description") == "saved by another tab"
    await eventually(opened)
    assert widget(user, "version").text == "version 2"
    assert await ctx.workspace.store.list_versions("sequential_chain") == [1, 2]


async def test_settings_not_applied_are_applied_when_another_node_is_selected(user, ctx):
    await user.open("/graph/resilience_demo")
    select(user, "primary")
    await user.should_see(marker="opt-label")
    user.find(marker="opt-label").clear().type("Typed, not applied")
    select(user, "combine")
    await user.should_see("applied your edits to primary")
    node = next(n for n in canvas(user).graph["nodes"] if n["id"] == "primary")
    assert node["label"] == "Typed, not applied"


async def test_settings_with_errors_are_kept_when_another_node_is_selected(user):
    await user.open("/graph/parallel_enrichment")
    node_id = next(n["id"] for n in canvas(user).graph["nodes"] if n["kind"] == "function")
    select(user, node_id)
    await user.should_see(marker="cfg-args")
    user.find(marker="cfg-args").clear().type("{oops")
    select(user, None)
    await user.should_see(f"the settings of {node_id} were not applied")
    assert "not JSON" in widget(user, "cfg-args").error  # shown at the field itself


async def test_an_untouched_form_has_nothing_pending(user):
    """Selecting node after node without typing changes nothing (no edit, no notice)."""
    await user.open("/graph/resilience_demo")
    before = copy.deepcopy(canvas(user).graph)
    for node in before["nodes"]:
        select(user, node["id"])
        await user.should_see(marker="node-id")
    select(user, None)
    after = canvas(user).graph
    assert [n for n in after["nodes"] if n not in before["nodes"]] == []
    assert after == before
    await user.should_not_see("applied your edits")


async def test_a_node_renamed_takes_its_edges_along(user, ctx):
    await user.open("/graph/sequential_chain")
    first = canvas(user).graph["nodes"][0]["id"]
    select(user, first)
    await user.should_see(marker="node-id")
    user.find(marker="node-id").clear().type("renamed_input")
    user.find(marker="apply-settings").click()
    graph = canvas(user).graph
    assert first not in {n["id"] for n in graph["nodes"]} and "renamed_input" in {n["id"] for n in graph["nodes"]}
    assert all(first not in (e["source"], e["target"]) for e in graph["edges"])
    assert any(e["source"] == "renamed_input" for e in graph["edges"])
    user.find(marker="save").click()
    await user.should_see("saved version 2")
    assert (await ctx.workspace.graph("sequential_chain")).spec.node("renamed_input")


async def test_a_taken_id_is_refused_at_its_field(user):
    await user.open("/graph/sequential_chain")
    first, second = (n["id"] for n in canvas(user).graph["nodes"][:2])
    select(user, first)
    await user.should_see(marker="node-id")
    user.find(marker="node-id").clear().type(second)
    user.find(marker="apply-settings").click()
    assert widget(user, "node-id").error == f"id {second!r} is taken by another node"


async def test_the_graph_name_and_description_are_edited_with_no_node_selected(user, ctx):
    await user.open("/graph/sequential_chain")
    await user.should_see(marker="graph-name")
    user.find(marker="graph-name").clear().type("Renamed chain")
    user.find(marker="graph-description").clear().type("What it is for")
    user.find(marker="apply-details").click()
    await user.should_see("version 1 · unsaved changes")
    user.find(marker="save").click()
    await user.should_see("saved version 2")
    spec = (await ctx.workspace.graph("sequential_chain")).spec
    assert (spec.name, spec.description) == ("Renamed chain", "What it is for")
    assert widget(user, "page-title").text == "Renamed chain"
