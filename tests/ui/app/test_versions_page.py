"""The version history page with NiceGUI's simulated user: list, compare, open read-only, restore."""

from __future__ import annotations

import pytest
from test_editor import canvas, widget

pytestmark = pytest.mark.anyio


async def two_versions(ctx) -> None:
    spec = (await ctx.workspace.graph("sequential_chain")).spec
    first = spec.nodes[1]
    changed = first.model_copy(update={"label": "Relabelled", "timeout": 9.0})
    nodes = (spec.nodes[0], changed, *spec.nodes[2:])
    await ctx.workspace.save(spec.model_copy(update={"nodes": nodes, "name": "Chain v2"}))


async def test_versions_are_listed_and_the_last_two_compared(user, ctx):
    await two_versions(ctx)
    old = (await ctx.workspace.graph("sequential_chain", 1)).spec
    await user.open("/graph/sequential_chain/versions")
    await user.should_see("2 (latest)")
    await user.should_see(f"graph name: {old.name} -> Chain v2")
    node = old.nodes[1]
    await user.should_see(f"node {node.id} ({node.kind}) changed")
    await user.should_see(f"  label: {node.label or '-'} -> Relabelled")
    await user.should_see("  timeout: - -> 9.0")
    await user.should_see("0 nodes added, 0 nodes removed, 1 node changed")


async def test_restore_an_old_version_as_a_new_one(user, ctx):
    await two_versions(ctx)
    await user.open("/graph/sequential_chain/versions")
    await user.should_see(marker="restore-version")
    user.find(marker="restore-version").click()
    await user.should_see("restored version 1 as version 3")
    await user.should_see("3 (latest)")
    assert (await ctx.workspace.graph("sequential_chain", 3)).spec == (await ctx.workspace.graph(
        "sequential_chain", 1)).spec


async def test_a_version_opens_read_only(user, ctx):
    await two_versions(ctx)
    await user.open("/graph/sequential_chain/versions/1")
    await user.should_see("version 1 · saved")
    assert canvas(user).props["readonly"] is True
    await user.should_see(marker="compare-latest")
    await user.open("/graph/sequential_chain/versions/7")
    await user.should_see("Graph 'sequential_chain' has no version 7.")


async def test_the_header_links_a_graphs_pages_and_titles_use_its_name(user, ctx):
    await user.open("/graph/sequential_chain/runs")
    name = (await ctx.workspace.graph("sequential_chain")).spec.name
    assert widget(user, "page-title").text == f"{name} · Runs"
    for page in ("editor", "versions", "stats"):
        await user.should_see(marker=f"nav-{page}")
    await user.open("/graph/sequential_chain")
    assert widget(user, "page-title").text == name
