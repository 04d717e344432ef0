"""The app in Debian's chromium, as a person uses it, against ``graphflow serve`` in a subprocess
(one server and one temporary database for the session; see ``served`` in conftest.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from app_support import in_thread
from playwright.sync_api import Page, expect

from graphflow.model import GraphSpec
from graphflow.storage import open_store

pytestmark = pytest.mark.browser
IMG = "<img src=x onerror=window.__xss=1>"
SCRIPT = "<script>window.__xss=2</script>"


def stored(db: Path, graph_id: str, version: int | None = None) -> Any:
    async def read() -> Any:
        async with open_store(db) as store:
            return await store.get_graph(graph_id, version)
    return in_thread(read)


def save(db: Path, graph: dict[str, Any]) -> None:
    async def write() -> None:
        async with open_store(db) as store:
            await store.save_graph(GraphSpec.model_validate(graph))
    in_thread(write)


def open_editor(page: Page, url: str) -> None:
    page.goto(url)
    expect(page.locator(".gf-canvas-root[data-ready=true]")).to_be_visible()


def centre(locator) -> tuple[float, float]:
    box = locator.bounding_box()
    assert box is not None
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def handle(page: Page, node_id: str, port: str, direction: str):
    return page.locator(f'[data-node-id="{node_id}"] [data-port="{port}"][data-port-dir="{direction}"]')


def connect(page: Page, source: str, target: str, source_port: str = "out", target_port: str = "in") -> None:
    page.mouse.move(*centre(handle(page, source, source_port, "out")))
    page.mouse.down()
    page.mouse.move(*centre(handle(page, target, target_port, "in")), steps=5)
    page.mouse.up()


def drop(page: Page, kind: str, x: float, y: float) -> None:
    page.locator(f'[data-palette-kind="{kind}"]').drag_to(page.locator(".vue-flow__pane"),
                                                          target_position={"x": x, "y": y})


def notified(page: Page, text: str) -> None:
    expect(page.locator(".q-notification").filter(has_text=text).first).to_be_visible()


def select_node(page: Page, node_id: str) -> None:
    page.locator(f'[data-node-id="{node_id}"] .gf-kind').click()
    expect(page.get_by_test_id("node-id")).to_have_value(node_id)


def test_build_a_graph_from_the_palette_configure_and_save(page: Page, served):
    page.goto(served.url + "/")
    page.get_by_role("button", name="New graph").click()
    page.get_by_label("Name").fill("Built in the browser")
    page.get_by_role("button", name="OK").click()
    expect(page).to_have_url(served.url + "/graph/Built_in_the_browser")
    expect(page.locator(".gf-canvas-root[data-ready=true]")).to_be_visible()
    expect(page.get_by_test_id("empty-hint")).to_contain_text("Drag a node kind from the palette")
    drop(page, "constant", 150, 120)
    expect(page.get_by_test_id("empty-hint")).to_have_count(0)
    drop(page, "output", 520, 160)
    expect(page.locator(".gf-node")).to_have_count(2)
    connect(page, "constant_1", "output_1")
    expect(page.locator(".vue-flow__edge")).to_have_count(1)
    drop(page, "template", 150, 330)
    connect(page, "template_1", "output_1")  # the output's single input is taken
    expect(page.get_by_test_id("connect-refused")).to_contain_text("already has a connection")
    expect(page.locator(".vue-flow__edge")).to_have_count(1)
    page.locator('[data-node-id="template_1"] .gf-kind').click()
    page.keyboard.press("Delete")
    expect(page.locator(".gf-node")).to_have_count(2)
    page.get_by_test_id("undo").click()  # the toolbar buttons, as well as Ctrl+Z / Ctrl+Y
    expect(page.locator(".gf-node")).to_have_count(3)
    page.get_by_test_id("redo").click()
    expect(page.locator(".gf-node")).to_have_count(2)
    # the output has no name yet: shown on the node, in the list, and saving is refused
    expect(page.locator('[data-node-id="output_1"]').get_by_test_id("problems")).to_contain_text("invalid_config")
    page.get_by_test_id("save").click()
    notified(page, "kept as a draft, not saved as a version: 1 problem")
    select_node(page, "output_1")
    page.get_by_test_id("cfg-name").fill("answer")
    page.get_by_test_id("apply-settings").click()
    select_node(page, "constant_1")
    page.get_by_test_id("cfg-value").fill("42")
    page.get_by_test_id("apply-settings").click()
    expect(page.locator('[data-node-id="output_1"]').get_by_test_id("problems")).to_have_count(0)
    page.locator(".vue-flow__pane").click(position={"x": 300, "y": 450})
    page.keyboard.press("Control+s")
    notified(page, "saved version 2")
    spec = stored(served.db, "Built_in_the_browser").spec
    assert {n.id: n.config for n in spec.nodes} == {"constant_1": {"value": 42}, "output_1": {"name": "answer"}}
    assert [(e.source, e.target) for e in spec.edges] == [("constant_1", "output_1")]


def test_export_and_reimport_give_the_identical_graph(page: Page, served, tmp_path):
    page.goto(served.url + "/")
    before = stored(served.db, "email_triage").spec
    with page.expect_download() as download:
        page.locator('[data-graph-id="email_triage"] [data-action="export"]').click()
    exported = tmp_path / "email_triage.json"
    download.value.save_as(exported)
    assert GraphSpec.model_validate_json(exported.read_text()) == before
    page.locator('[data-graph-id="email_triage"] [data-action="delete"]').click()
    page.locator(".q-dialog").get_by_role("button", name="Delete").click()
    notified(page, "deleted email_triage")
    expect(page.locator('[data-graph-id="email_triage"]')).to_have_count(0)
    page.locator(".q-uploader input[type=file]").set_input_files(exported)
    notified(page, "imported email_triage version 1")
    expect(page.locator('[data-testid="graph-link"][data-graph-id="email_triage"]')).to_be_visible()
    assert stored(served.db, "email_triage").spec == before


def test_an_invalid_import_lists_its_problems(page: Page, served, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"schema_version": 1, "id": "bad", "nodes": [{"id": "x", "kind": "nope"}],
                               "edges": [{"id": "e", "source": "x", "target": "y"}]}))
    page.goto(served.url + "/")
    page.locator(".q-uploader input[type=file]").set_input_files(bad)
    problems = page.get_by_test_id("import-problem")
    expect(problems).to_have_count(1)
    expect(problems.first).to_have_text("[dangling_edge] edge 'e': target node 'y' does not exist")
    expect(page.locator('[data-graph-id="bad"]')).to_have_count(0)


def test_run_a_sample_and_watch_retries_and_the_breaker(page: Page, served):
    open_editor(page, served.url + "/graph/resilience_demo")
    page.get_by_test_id("run").click()
    page.get_by_test_id("input-query").fill("refund window")
    page.get_by_test_id("start-run").click()
    primary = page.locator('[data-node-id="primary"]')
    expect(primary).to_have_attribute("data-status", "failed")
    expect(primary).to_have_attribute("data-attempts", "3")
    expect(primary.get_by_test_id("breaker")).to_have_text("breaker open")
    expect(primary.get_by_test_id("error")).to_contain_text("ConnectionError: primary source unavailable")
    expect(page.locator('[data-node-id="backup"]')).to_have_attribute("data-status", "succeeded")
    expect(page.get_by_test_id("run-status")).to_have_text("succeeded")
    expect(page.locator(".vue-flow__edge.gf-edge-taken")).not_to_have_count(0)
    expect(page.get_by_test_id("event-log")).to_contain_text("breaker_changed primary-api: closed -> open")
    expect(page.get_by_test_id("run-outputs")).to_contain_text('"source": "backup"')


def test_statuses_change_while_a_run_goes_on(page: Page, served):
    save(served.db, {"schema_version": 1, "id": "slow", "name": "Slow", "nodes": [
        {"id": "start", "kind": "constant", "config": {"value": 1}},
        {"id": "wait", "kind": "delay", "config": {"seconds": 0.6}, "position": {"x": 250, "y": 0}},
        {"id": "done", "kind": "output", "config": {"name": "done"}, "position": {"x": 500, "y": 0}}],
        "edges": [{"id": "e1", "source": "start", "target": "wait"}, {"id": "e2", "source": "wait", "target": "done"}]})
    open_editor(page, served.url + "/graph/slow")
    page.get_by_test_id("run").click()
    wait = page.locator('[data-node-id="wait"]')
    expect(wait).to_have_attribute("data-status", "running")
    expect(page.locator('[data-node-id="start"]')).to_have_attribute("data-status", "succeeded")
    expect(page.locator('[data-node-id="done"]')).not_to_have_attribute("data-status", "succeeded")
    expect(wait).to_have_attribute("data-status", "succeeded")
    expect(page.locator('[data-node-id="done"]')).to_have_attribute("data-status", "succeeded")
    expect(page.get_by_test_id("run-outputs")).to_contain_text('"done": 1')


def test_labels_and_names_are_text_never_html(page: Page, served, tmp_path):
    graph = {"schema_version": 1, "id": "xss", "name": f"{IMG} {SCRIPT}", "nodes": [
        {"id": "a", "kind": "constant", "label": IMG, "description": SCRIPT, "config": {"value": IMG}},
        {"id": "b", "kind": "output", "label": SCRIPT, "config": {"name": "o"}, "position": {"x": 300, "y": 0}}],
        "edges": [{"id": "e1", "source": "a", "target": "b"}]}
    file = tmp_path / "xss.json"
    file.write_text(json.dumps(graph))
    page.goto(served.url + "/")
    page.locator(".q-uploader input[type=file]").set_input_files(file)
    notified(page, "imported xss version 1")
    link = page.locator('[data-testid="graph-link"][data-graph-id="xss"]')
    expect(link).to_have_text(f"{IMG} {SCRIPT}")
    page.reload()
    expect(link).to_be_visible()
    page.wait_for_timeout(200)  # time for an injected onerror handler to fire
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.locator("img[src=x], body script:has-text('__xss')").count() == 0
    open_editor(page, served.url + "/graph/xss")
    expect(page.locator('[data-node-id="a"] .gf-label')).to_have_text(IMG)
    expect(page.get_by_test_id("page-title")).to_have_text(f"{IMG} {SCRIPT}")
    select_node(page, "a")
    expect(page.get_by_test_id("opt-label")).to_have_value(IMG)
    page.wait_for_timeout(200)
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.locator("img[src=x], body script:has-text('__xss')").count() == 0
