"""A run on the cards (issue 12 item 3): each node's output after a run (first lines on the card,
the whole value on a click, as text) and an elapsed timer on running nodes."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

import graphflow
from graphflow.events import NodeStatus
from graphflow.state import NodeRecord
from graphflow.ui.canvas import node_status
from graphflow.ui.canvas.events import OUTPUT_CHARS, output_text

REGISTRY = graphflow.default_registry(installed=False)
KINDS = [kind.describe() for kind in REGISTRY.kinds.values()]
GRAPH: dict[str, Any] = {"schema_version": 1, "id": "test", "name": "Test", "nodes": [
    {"id": "make", "kind": "constant", "config": {"value": 1}, "position": {"x": 0, "y": 0}},
    {"id": "wait", "kind": "delay", "position": {"x": 260, "y": 0}},
], "edges": [{"id": "e1", "source": "make", "target": "wait"}]}


def test_output_text_is_the_value_of_a_lone_out_port_else_the_ports():
    assert output_text({"out": "plain text"}) == "plain text"
    assert output_text({"out": {"a": [1, 2]}}) == '{\n  "a": [\n    1,\n    2\n  ]\n}'
    assert output_text({"true": 1, "false": None}) == '{\n  "true": 1,\n  "false": null\n}'
    huge = output_text({"out": "x" * (OUTPUT_CHARS + 5)})
    assert huge.startswith("x" * OUTPUT_CHARS) and huge.endswith(f"cut: {OUTPUT_CHARS + 5:,} characters in all")


def test_node_status_has_the_output_once_succeeded_and_elapsed_while_running_live():
    done = NodeRecord(status=NodeStatus.SUCCEEDED, output={"out": [1]}, duration=0.1)
    assert node_status(done)["output"] == "[\n  1\n]"
    running = NodeRecord(status=NodeStatus.RUNNING, started_at=100.0)
    assert node_status(running, now=102.5)["elapsed"] == 2.5
    assert "elapsed" not in node_status(running)  # replay: a past moment does not tick
    assert "output" not in node_status(NodeRecord(status=NodeStatus.FAILED, output={"out": 1}))


def open_scene(page: Page, canvas_app):
    url, scene = canvas_app.add(KINDS, GRAPH, registry=REGISTRY)
    page.goto(url)
    expect(page.locator(".gf-canvas-root[data-ready=true]")).to_be_visible()
    expect(page.locator(".gf-node")).to_have_count(2)
    return scene


@pytest.mark.browser
def test_output_preview_shows_first_lines_and_a_click_shows_all_of_it_as_text(page: Page, canvas_app):
    scene = open_scene(page, canvas_app)
    value = {"items": [f"<b>line {i}</b>" for i in range(40)]}
    record = NodeRecord(status=NodeStatus.SUCCEEDED, output={"out": value}, duration=0.01)
    scene.call(lambda c: c.set_statuses({"make": node_status(record)}))
    preview = page.locator('[data-node-id="make"]').get_by_test_id("output-preview")
    expect(preview).to_be_visible()
    text = preview.text_content() or ""
    assert text.startswith('{"items": ["<b>line 0</b>", "<b>line 1</b>"') and text.endswith("…")  # compacted
    assert "line 39" not in text
    preview.click()
    full = page.get_by_test_id("output-full")
    expect(full).to_be_visible()
    assert full.text_content() == output_text({"out": value})
    assert page.locator(".gf-canvas-root b").count() == 0  # text, never HTML
    page.keyboard.press("Escape")
    expect(full).to_have_count(0)
    scene.call(lambda c: c.reset_statuses())
    expect(preview).to_have_count(0)


@pytest.mark.browser
def test_a_running_node_counts_its_elapsed_time_until_it_ends(page: Page, canvas_app):
    scene = open_scene(page, canvas_app)
    running = NodeRecord(status=NodeStatus.RUNNING, attempts=1, started_at=1000.0)
    scene.call(lambda c: c.set_statuses({"wait": node_status(running, now=1063.0)}))  # started 63 s ago
    elapsed = page.locator('[data-node-id="wait"]').get_by_test_id("elapsed")
    expect(elapsed).to_have_text("1 min 03 s")
    first = elapsed.text_content()
    expect(elapsed).not_to_have_text(first or "", timeout=3000)  # it counts on in the browser
    done = NodeRecord(status=NodeStatus.SUCCEEDED, attempts=1, duration=64.2, output={"out": 1})
    scene.call(lambda c: c.set_statuses({"wait": node_status(done, now=1064.2)}))
    expect(elapsed).to_have_count(0)
    expect(page.locator('[data-node-id="wait"] .gf-duration')).to_have_text("64.20 s")
