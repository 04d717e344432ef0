"""No lost work and predictable actions in Debian's chromium (issue 12 items 1 and 5): autosave and
restore, the leave guard, the conflict warning, history diff and restore, Ctrl+S in a field, rename,
no page taller than the window, and the first run's panel ending with its final status."""

from __future__ import annotations

import time

import pytest
from app_support import in_thread
from playwright.sync_api import Page, expect
from test_app_browser import notified, open_editor, save, select_node, stored

from graphflow.storage import open_store

pytestmark = pytest.mark.browser


def chain(graph_id: str) -> dict:
    return {"schema_version": 1, "id": graph_id, "name": f"Chain {graph_id}",
            "nodes": [{"id": "c", "kind": "constant", "config": {"value": 1}, "position": {"x": 0, "y": 0}},
                      {"id": "out", "kind": "output", "config": {"name": "o"}, "position": {"x": 300, "y": 0}}],
            "edges": [{"id": "e", "source": "c", "target": "out"}]}


def draft_of(db, graph_id: str):
    async def read():
        async with open_store(db) as store:
            return await store.get_draft(graph_id)
    return in_thread(read)


def wait_for_draft(db, graph_id: str, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while (draft := draft_of(db, graph_id)) is None:
        assert time.monotonic() < deadline, "no draft was autosaved"
        time.sleep(0.2)
    return draft


def relabel(page: Page, node_id: str, label: str) -> None:
    select_node(page, node_id)
    page.get_by_test_id("opt-label").fill(label)
    page.get_by_test_id("apply-settings").click()
    expect(page.get_by_test_id("version")).to_contain_text("unsaved changes")


def test_edits_are_autosaved_and_restored_after_a_reload(page: Page, served):
    save(served.db, chain("autosaved"))
    open_editor(page, served.url + "/graph/autosaved")
    relabel(page, "c", "Kept in the draft")
    assert wait_for_draft(served.db, "autosaved").graph["nodes"][0]["label"] == "Kept in the draft"
    page.on("dialog", lambda dialog: dialog.accept())  # the leave guard, for the reload
    page.reload()
    expect(page.locator(".gf-canvas-root[data-ready=true]")).to_be_visible()
    expect(page.get_by_test_id("draft-restored")).to_contain_text("Restored your unsaved draft from")
    expect(page.locator('[data-node-id="c"]')).to_contain_text("Kept in the draft")
    page.get_by_test_id("discard-draft").click()
    expect(page.get_by_test_id("draft-restored")).to_have_count(0)
    expect(page.locator('[data-node-id="c"]')).not_to_contain_text("Kept in the draft")
    assert draft_of(served.db, "autosaved") is None


def test_leaving_with_unsaved_edits_asks_first(page: Page, served):
    save(served.db, chain("guarded"))
    open_editor(page, served.url + "/graph/guarded")
    relabel(page, "c", "Not saved")
    seen: list[str] = []

    def answer(dialog) -> None:
        seen.append(dialog.type)
        dialog.dismiss()

    page.on("dialog", answer)
    page.get_by_test_id("nav-runs").click()
    page.wait_for_timeout(300)
    assert seen == ["beforeunload"]
    assert page.url.endswith("/graph/guarded")
    page.get_by_test_id("save").click()
    notified(page, "saved version 2")
    page.get_by_test_id("nav-runs").click()  # saved: no question
    expect(page).to_have_url(served.url + "/graph/guarded/runs")
    assert seen == ["beforeunload"]


def test_a_stale_tab_is_warned_before_saving_over_a_newer_version(page: Page, served):
    save(served.db, chain("two_tabs"))
    open_editor(page, served.url + "/graph/two_tabs")
    other = page.context.new_page()
    try:
        open_editor(other, served.url + "/graph/two_tabs")
        relabel(other, "out", "Saved in the other tab")
        other.get_by_test_id("save").click()
        notified(other, "saved version 2")
    finally:
        other.close()
    relabel(page, "c", "Stale tab's edit")
    page.keyboard.press("Control+s")
    expect(page.get_by_test_id("conflict")).to_contain_text("Version 2 of this graph was saved after version 1")
    page.get_by_test_id("conflict-overwrite").click()
    notified(page, "saved version 3")
    assert stored(served.db, "two_tabs", 2).spec.node("out").label == "Saved in the other tab"  # kept
    assert stored(served.db, "two_tabs", 3).spec.node("c").label == "Stale tab's edit"


def test_ctrl_s_inside_a_settings_field_applies_and_saves(page: Page, served):
    save(served.db, chain("shortcut"))
    open_editor(page, served.url + "/graph/shortcut")
    select_node(page, "c")
    field = page.get_by_test_id("opt-label")
    field.fill("Typed, then Ctrl+S")
    field.press("Control+s")
    notified(page, "saved version 2")
    assert stored(served.db, "shortcut").spec.node("c").label == "Typed, then Ctrl+S"


def test_a_renamed_node_keeps_its_edges(page: Page, served):
    save(served.db, chain("renaming"))
    open_editor(page, served.url + "/graph/renaming")
    select_node(page, "c")
    page.get_by_test_id("node-id").fill("source")
    page.get_by_test_id("apply-settings").click()
    expect(page.locator('[data-node-id="source"]')).to_have_count(1)
    expect(page.locator('[data-node-id="c"]')).to_have_count(0)
    expect(page.locator(".vue-flow__edge")).to_have_count(1)
    expect(page.get_by_test_id("node-id")).to_have_value("source")
    page.keyboard.press("Control+s")
    notified(page, "saved version 2")
    spec = stored(served.db, "renaming").spec
    assert [(e.source, e.target) for e in spec.edges] == [("source", "out")]


def test_history_compares_two_versions_and_restores_one(page: Page, served):
    save(served.db, chain("historic"))
    changed = chain("historic")
    changed["nodes"][0]["config"] = {"value": 2}
    save(served.db, changed)
    page.goto(served.url + "/graph/historic/versions")
    expect(page.get_by_test_id("node-changed")).to_have_text("node c (constant) changed")
    expect(page.get_by_test_id("node-change")).to_have_text("config.value: 1 -> 2")
    page.locator('[data-testid="restore-version"][data-version="1"]').click()
    notified(page, "restored version 1 as version 3")
    assert stored(served.db, "historic", 3).spec.node("c").config == {"value": 1}
    page.goto(served.url + "/graph/historic/versions/2")
    expect(page.locator(".gf-canvas-root[data-ready=true]")).to_be_visible()
    expect(page.locator(".gf-palette")).to_have_count(0)  # read-only: nothing to add
    expect(page.get_by_test_id("version-title")).to_contain_text("version 2 · saved")


def test_the_first_run_ends_with_its_status(page: Page, served):
    save(served.db, chain("first_run"))
    open_editor(page, served.url + "/graph/first_run")
    page.get_by_test_id("run").click()
    notified(page, "running version 1")
    expect(page.get_by_test_id("run-status")).to_have_text("succeeded", timeout=15000)
    expect(page.get_by_test_id("run-id")).to_contain_text("version 1")


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)])
def test_no_page_is_taller_than_the_window(page: Page, served, size):
    save(served.db, chain("sized"))
    page.set_viewport_size({"width": size[0], "height": size[1]})
    for path in ("/", "/graph/sized", "/graph/sized/versions", "/graph/sized/versions/1", "/graph/sized/runs",
                 "/graph/sized/stats", "/settings/credentials"):
        page.goto(served.url + path)
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(200)
        height = page.evaluate("document.documentElement.scrollHeight")
        assert height <= size[1], (path, height)
