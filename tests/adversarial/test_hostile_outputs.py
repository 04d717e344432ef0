"""Run outputs come from emails, model and API responses: every value in the run panel, the
node detail and the replay is plain text. Line and paragraph separators (U+2028, U+2029,
U+0085) once closed a markdown code fence and the rest rendered as HTML; here no payload may
become an element, and each appears literally."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from serve_support import Server, in_thread, serve

from graphflow.model import GraphSpec
from graphflow.storage import open_store

pytestmark = pytest.mark.browser

# each separator ends a line for the markdown renderer (Python's str.splitlines), not for JSON
PAYLOAD = ("hello\u2028```\u2028<img src=x onerror=window.__xss=1>\u2029\u2029"
           "<form action=https://evil.example/ id=evilform><input name=password></form>\u0085\u0085"
           "<style id=evilstyle>.gf-header { display: none !important }</style>\u2028\u2028"
           "<a href=https://evil.example id=phish>log in again</a>\u2028```html\u2028`code`")
OUTPUTS = {"mail": PAYLOAD, "nested": {"items": [PAYLOAD, "\u2028<img src=x onerror=window.__xss=2>"]}}
INJECTED = "img[src=x], #evilform, #evilstyle, #phish, form[action^='https://evil']"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    served = serve(tmp_path_factory.mktemp("hostile_outputs"))
    graph = {"schema_version": 1, "id": "hostile", "name": "Hostile outputs", "nodes": [
        {"id": "a", "kind": "constant", "config": {"value": PAYLOAD}},
        {"id": "b", "kind": "constant", "config": {"value": OUTPUTS["nested"]}, "position": {"x": 0, "y": 150}},
        {"id": "mail", "kind": "output", "config": {"name": "mail"}, "position": {"x": 300, "y": 0}},
        {"id": "nested", "kind": "output", "config": {"name": "nested"}, "position": {"x": 300, "y": 150}}],
        "edges": [{"id": "e1", "source": "a", "target": "mail"}, {"id": "e2", "source": "b", "target": "nested"}]}

    stop = {"schema_version": 1, "id": "hostile_stop", "name": "Hostile reason", "nodes": [
        {"id": "halt", "kind": "stop", "config": {"status": "failed", "reason": PAYLOAD}}], "edges": []}

    async def save() -> None:
        async with open_store(served.db) as store:
            await store.save_graph(GraphSpec.model_validate(graph))
            await store.save_graph(GraphSpec.model_validate(stop))
    in_thread(save)
    yield served
    served.stop()


def assert_inert(page: Page) -> None:
    page.wait_for_timeout(200)  # time for an injected onerror handler to fire
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.locator(INJECTED).count() == 0
    expect(page.locator(".gf-header")).to_be_visible()  # no injected style hid it


def text_of(page: Page, testid: str) -> str:
    return page.get_by_test_id(testid).evaluate("el => el.textContent")


def test_run_panel_and_replay_show_hostile_outputs_as_text(page: Page, server: Server, tmp_path: Path):
    page.goto(server.url + "/graph/hostile")
    expect(page.locator(".gf-canvas-root[data-ready=true]")).to_be_visible()
    page.get_by_test_id("run").click()
    expect(page.get_by_test_id("run-status")).to_have_text("succeeded")
    expect(page.get_by_test_id("run-outputs")).to_be_visible()
    assert_inert(page)
    assert text_of(page, "run-outputs") == json.dumps(OUTPUTS, indent=2, ensure_ascii=False)

    run_id = page.get_by_test_id("run-id").inner_text().split()[1]  # "run ID · version N"
    page.goto(f"{server.url}/run/{run_id}")
    page.get_by_test_id("to-end").click()
    expect(page.get_by_test_id("final-status")).to_have_text("Run succeeded")
    assert text_of(page, "final-outputs") == json.dumps(OUTPUTS, indent=2, ensure_ascii=False)
    page.locator('[data-node-id="a"] .gf-kind').click()
    detail = page.get_by_test_id("node-detail")
    expect(detail).to_contain_text("a: succeeded")
    assert json.dumps(PAYLOAD, ensure_ascii=False) in detail.evaluate("el => el.textContent")
    assert_inert(page)


def test_a_hostile_failure_reason_is_text_in_the_log_and_the_run_panel(page: Page, server: Server):
    page.goto(server.url + "/graph/hostile_stop")
    expect(page.locator(".gf-canvas-root[data-ready=true]")).to_be_visible()
    page.get_by_test_id("run").click()
    expect(page.get_by_test_id("run-status")).to_have_text("failed")
    expect(page.get_by_test_id("run-error")).to_be_visible()
    assert_inert(page)
    assert PAYLOAD in text_of(page, "run-error")
    assert "<img src=x onerror=window.__xss=1>" in text_of(page, "event-log")
