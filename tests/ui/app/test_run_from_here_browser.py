"""'Run from here' on a node's right-click menu, in Debian's chromium against ``graphflow serve``: the
node and its descendants run again, the other nodes show as reused with their outputs, an input
node's item is disabled with the reason, unsaved edits are asked about first, and a node changed
upstream since the earlier run is refused by name."""

from __future__ import annotations

from typing import Any

import pytest
from app_support import in_thread
from playwright.sync_api import Page, expect
from test_app_browser import notified, open_editor, save, select_node

import graphflow
from graphflow.service import Workspace
from graphflow.storage import open_store

pytestmark = pytest.mark.browser


def two_branches(graph_id: str) -> dict[str, Any]:
    """q -> t1 -> t2 -> o, and k -> o2 beside them."""
    def at(x: int, y: int) -> dict[str, int]:
        return {"x": x, "y": y}
    return {"schema_version": 1, "id": graph_id, "name": "Run from here", "nodes": [
        {"id": "q", "kind": "input", "config": {"name": "q", "type": "string"}, "position": at(0, 0)},
        {"id": "t1", "kind": "template", "config": {"template": "Q: {value}"}, "position": at(300, 0)},
        {"id": "t2", "kind": "template", "config": {"template": "{value}!"}, "position": at(600, 0)},
        {"id": "o", "kind": "output", "config": {"name": "answer"}, "position": at(900, 0)},
        {"id": "k", "kind": "constant", "config": {"value": 42}, "position": at(300, 250)},
        {"id": "o2", "kind": "output", "config": {"name": "k"}, "position": at(600, 250)}],
        "edges": [{"id": "e1", "source": "q", "target": "t1"}, {"id": "e2", "source": "t1", "target": "t2"},
                  {"id": "e3", "source": "t2", "target": "o"}, {"id": "e4", "source": "k", "target": "o2"}]}


def run_whole(db: Any, graph_id: str, inputs: dict[str, Any]) -> str:
    async def go() -> str:
        async with open_store(db) as store:
            return (await Workspace(store, graphflow.default_registry()).run(graph_id, inputs)).run_id
    return in_thread(go)


def card(page: Page, node_id: str):
    return page.locator(f'[data-node-id="{node_id}"]')


def run_from(page: Page, node_id: str) -> None:
    card(page, node_id).locator(".gf-kind").click(button="right")
    page.get_by_test_id("node-menu").locator('[data-action="run-from"]').click()


def test_run_from_here_reruns_the_node_and_downstream_and_reuses_the_rest(page: Page, served):
    save(served.db, two_branches("from_here"))
    earlier = run_whole(served.db, "from_here", {"q": "hi"})
    open_editor(page, served.url + "/graph/from_here")
    run_from(page, "t2")
    notified(page, f"running version 1 from 't2': 2 nodes run again, 4 reused from run {earlier}")
    expect(page.get_by_test_id("run-status")).to_have_text("succeeded")
    for node_id in ("q", "t1", "k", "o2"):
        expect(card(page, node_id).get_by_test_id("reused")).to_have_attribute("title", f"reused from run {earlier}")
        expect(card(page, node_id)).to_have_attribute("data-status", "succeeded")
    for node_id in ("t2", "o"):
        expect(card(page, node_id)).to_have_attribute("data-status", "succeeded")
        expect(card(page, node_id).get_by_test_id("reused")).to_have_count(0)
    expect(card(page, "t1").get_by_test_id("output-preview")).to_have_text("Q: hi")  # the reused output
    expect(card(page, "t2").get_by_test_id("output-preview")).to_have_text("Q: hi!")
    log = page.get_by_test_id("event-log")
    expect(log).to_contain_text(f"run from node 't2', reusing run {earlier}")
    expect(log).not_to_contain_text("node_started  t1")
    new_run = page.get_by_test_id("run-id").inner_text().split()[1]
    page.goto(f"{served.url}/run/{new_run}")  # the replay says the same, from the stored events
    expect(page.get_by_test_id("reused-run-link")).to_have_attribute("href", f"/run/{earlier}")
    expect(page.get_by_test_id("reused-run-link")).to_have_text(f"run from t2, reusing run {earlier[:12]}")
    page.get_by_test_id("to-end").click()
    expect(card(page, "t1").get_by_test_id("reused")).to_have_count(1)
    expect(card(page, "t2").get_by_test_id("reused")).to_have_count(0)
    expect(card(page, "t2")).to_have_attribute("data-status", "succeeded")


def test_an_input_nodes_item_is_disabled_with_the_reason(page: Page, served):
    save(served.db, two_branches("from_input"))
    open_editor(page, served.url + "/graph/from_input")
    card(page, "q").locator(".gf-kind").click(button="right")
    item = page.get_by_test_id("node-menu").locator('[data-action="run-from"]')
    expect(item).to_be_disabled()
    expect(item).to_have_attribute("title", "An input node only passes the run's inputs on: use Run")


def test_unsaved_edits_are_asked_about_and_a_changed_upstream_node_is_refused(page: Page, served):
    save(served.db, two_branches("from_edited"))
    run_whole(served.db, "from_edited", {"q": "hi"})
    open_editor(page, served.url + "/graph/from_edited")
    run_from(page, "t2")
    expect(page.get_by_test_id("run-status")).to_have_text("succeeded")
    select_node(page, "t1")
    page.get_by_test_id("cfg-template").fill("Question: {value}")
    page.get_by_test_id("apply-settings").click()
    run_from(page, "t2")
    page.get_by_test_id("run-choice-save").click()  # save and run: version 2, whose t1 differs
    notified(page, "saved version 2")
    notified(page, "cannot run from 't2'")
    expect(page.locator(".q-notification").filter(has_text="cannot run from 't2'").first).to_contain_text(
        "'t1' changed since that run")
    run_from(page, "t1")  # from the changed node itself it fits, reusing the newest run (the one from t2)
    notified(page, "running version 2 from 't1': 3 nodes run again, 3 reused from run")
    expect(card(page, "t2").get_by_test_id("output-preview")).to_have_text("Question: hi!")
    expect(card(page, "q").get_by_test_id("reused")).to_have_count(1)
