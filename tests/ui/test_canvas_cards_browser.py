"""Node cards keep their width whatever they show (long labels, errors), degraded nodes look
degraded, the stats overlay marks nodes that fail, and every sample graph lays out cleanly: no
card overlaps another or covers a port, and every edge runs left to right.

The run cases are the audit's: ``sequential_chain`` with a malformed email (its "Validate
format" error) and ``resilience_demo`` (a primary that fails and opens its breaker, an optional
enrichment that degrades), with the statuses the live view sends, built from real runs."""

from __future__ import annotations

import concurrent.futures
import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

import graphflow
from graphflow.state import NodeRecord, RunState
from graphflow.ui.canvas import node_status

REGISTRY = graphflow.default_registry()  # the sample handlers too: the samples are run below
KINDS = [kind.describe() for kind in REGISTRY.kinds.values()]
SAMPLES = Path(__file__).resolve().parents[2] / "sample_graphs"
SAMPLE_NAMES = sorted(p.stem for p in SAMPLES.glob("*.json"))
CARD_WIDTH = 150  # canvas.css .gf-node width (CARD.width in js/util.js)
LONG_ERROR = ("InvalidEmail: invalid email address 'bob@@example.invalid.example.invalid': expected exactly one '@',"
              " found 2; " + "x" * 300)


def graph(nodes: list[dict[str, Any]], edges: list[dict[str, Any]] = ()) -> dict[str, Any]:
    return {"schema_version": 1, "id": "test", "name": "Test", "nodes": nodes, "edges": list(edges)}


def sample(name: str) -> dict[str, Any]:
    return json.loads((SAMPLES / f"{name}.json").read_text(encoding="utf-8"))


def open_scene(page: Page, canvas_app, graph_dict: dict[str, Any]):
    url, scene = canvas_app.add(KINDS, graph_dict, registry=REGISTRY)
    page.goto(url)
    expect(page.locator(".gf-canvas-root[data-ready=true]")).to_be_visible()
    expect(page.locator(".gf-node")).to_have_count(len(graph_dict["nodes"]))
    page.wait_for_function("() => !!document.querySelector('.vue-flow__transformationpane')")
    return scene


def statuses_of(events: list[Any]) -> dict[str, Any]:
    state = RunState.from_events(events)
    return {node_id: node_status(record) for node_id, record in state.nodes.items()}


def run_statuses(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """The statuses after a real run of a sample (in a thread: Playwright's loop runs in this one)."""
    spec = graphflow.load_graph(SAMPLES / f"{name}.json")
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        result = pool.submit(graphflow.run_sync, spec, inputs, registry=REGISTRY).result(timeout=60)
    return statuses_of(result.events)


GEOMETRY = """() => {
  const pane = document.querySelector('.vue-flow__transformationpane');
  const zoom = new DOMMatrix(getComputedStyle(pane).transform).a;
  const cards = [...document.querySelectorAll('.gf-node')].map((el) => {
    const r = el.getBoundingClientRect();
    return { id: el.dataset.nodeId, left: r.left, right: r.right, top: r.top, bottom: r.bottom,
             width: el.offsetWidth };
  });
  // a port is covered when something other than its own handle is on top at its centre
  const covered = [];
  for (const handle of document.querySelectorAll('.gf-node .vue-flow__handle')) {
    const r = handle.getBoundingClientRect();
    const top = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
    if (top !== handle && !handle.contains(top)) {
      const over = top && top.closest('.gf-node') ? top.closest('.gf-node').dataset.nodeId : top && top.className;
      covered.push(`${handle.closest('.gf-node').dataset.nodeId}.${handle.dataset.port} under ${over}`);
    }
  }
  return { zoom, cards, covered };
}"""


ALL_IN_VIEW = """() => {
  const pane = document.querySelector('.vue-flow__pane').getBoundingClientRect();
  return [...document.querySelectorAll('.gf-node')].every((el) => {
    const r = el.getBoundingClientRect();
    return r.left >= pane.left && r.right <= pane.right && r.top >= pane.top && r.bottom <= pane.bottom;
  });
}"""


def geometry(page: Page) -> dict[str, Any]:
    page.wait_for_timeout(100)  # statuses are applied on the next animation frame
    # A graph larger than the view opens at a readable zoom on its start: fit it whole (the canvas' fit
    # button), so that every port can be checked
    if not page.evaluate(ALL_IN_VIEW):
        page.locator(".vue-flow__controls-fitview").click()
        page.wait_for_function(ALL_IN_VIEW)
    return page.evaluate(GEOMETRY)


def overlapping(cards: list[dict[str, Any]], margin: float = 0.0) -> list[tuple[str, str]]:
    pairs = []
    for i, a in enumerate(cards):
        for b in cards[i + 1:]:
            if (a["left"] < b["right"] + margin and b["left"] < a["right"] + margin
                    and a["top"] < b["bottom"] + margin and b["top"] < a["bottom"] + margin):
                pairs.append((a["id"], b["id"]))
    return pairs


def check_layout(page: Page, graph_dict: dict[str, Any], what: str) -> dict[str, Any]:
    geo = geometry(page)
    zoom = geo["zoom"]
    assert {c["width"] for c in geo["cards"]} == {CARD_WIDTH}, f"{what}: a card is not {CARD_WIDTH} px wide"
    assert overlapping(geo["cards"], margin=12 * zoom) == [], f"{what}: cards touch"
    assert geo["covered"] == [], f"{what}: ports covered"
    cards = {c["id"]: c for c in geo["cards"]}
    for edge in graph_dict["edges"]:
        gap = (cards[edge["target"]]["left"] - cards[edge["source"]]["right"]) / zoom
        assert gap >= 32, f"{what}: edge {edge['id']} runs backwards or has no room ({gap:.0f} px)"
    return geo


@pytest.mark.browser
def test_a_long_error_and_label_do_not_widen_the_card(page: Page, canvas_app):
    label = "Validate the format of the customer's email address before anything else"
    scene = open_scene(page, canvas_app, graph([
        {"id": "validate", "kind": "function", "label": label, "config": {"function": "x"},
         "position": {"x": 0, "y": 0}},
        {"id": "next", "kind": "function", "label": "Check if existing", "config": {"function": "x"},
         "position": {"x": CARD_WIDTH + 48, "y": 0}},
    ], [{"id": "e1", "source": "validate", "target": "next"}]))
    card = page.locator('[data-node-id="validate"]')
    before = check_layout(page, scene.graph, "before the run")
    expect(card.locator(".gf-label")).to_have_attribute("title", label)

    scene.call(lambda c: c.set_statuses({"validate": {"status": "failed", "attempts": 3, "breaker": "open",
                                                      "error": LONG_ERROR, "duration": 0.25}}))
    expect(card).to_have_attribute("data-status", "failed")
    after = check_layout(page, scene.graph, "with the error")
    width = {c["id"]: c["right"] - c["left"] for c in after["cards"]}
    assert width["validate"] <= CARD_WIDTH * after["zoom"] + 1
    assert after["zoom"] == before["zoom"]
    error = card.get_by_test_id("error")
    expect(error).to_have_attribute("title", LONG_ERROR)  # the whole text, in the tooltip
    clamp = error.evaluate("(el) => ({ shown: el.clientHeight, full: el.scrollHeight,"
                           " line: parseFloat(getComputedStyle(el).lineHeight) })")
    assert clamp["shown"] <= 2 * clamp["line"] + 1 < clamp["full"], clamp  # two lines show, the rest is cut


@pytest.mark.browser
def test_a_degraded_node_shows_the_degraded_badge_and_its_error(page: Page, canvas_app):
    statuses = run_statuses("resilience_demo", {"query": "When will my order arrive?"})
    assert statuses["enrich"]["degraded"] is True and statuses["enrich"]["status"] == "succeeded"
    assert "degraded" not in statuses["backup"]
    scene = open_scene(page, canvas_app, sample("resilience_demo"))
    scene.call(lambda c: c.set_statuses(statuses))
    enrich = page.locator('[data-node-id="enrich"]')
    expect(enrich).to_have_attribute("data-degraded", "true")
    expect(enrich).to_have_attribute("data-status", "succeeded")  # what the scheduler recorded
    expect(enrich).to_have_class("gf-node gf-status-degraded")
    expect(enrich.get_by_test_id("status")).to_have_text("degraded")
    expect(enrich.get_by_test_id("status")).to_have_class("gf-badge gf-badge-degraded")
    expect(enrich.get_by_test_id("error")).to_have_text(statuses["enrich"]["error"])
    expect(enrich.get_by_test_id("error")).to_have_class("gf-error gf-error-degraded")
    backup = page.locator('[data-node-id="backup"]')
    expect(backup.get_by_test_id("status")).to_have_text("succeeded")
    expect(backup).not_to_have_attribute("data-degraded", "true")
    # a status named "degraded" shows the same
    scene.call(lambda c: c.set_node_status("backup", {"status": "degraded", "error": "TimeoutError: slow"}))
    expect(backup.get_by_test_id("status")).to_have_text("degraded")
    expect(backup).to_have_attribute("data-degraded", "true")


def test_node_status_says_degraded_only_when_it_is():
    record = NodeRecord(status="succeeded", attempts=1, duration=0.1, error="TimeoutError: slow", degraded=True)
    assert node_status(record)["degraded"] is True
    assert "degraded" not in node_status(NodeRecord(status="succeeded"))


@pytest.mark.browser
def test_the_stats_overlay_marks_a_node_that_fails_sometimes(page: Page, canvas_app):
    scene = open_scene(page, canvas_app, sample("resilience_demo"))
    scene.call(lambda c: c.set_heat({
        "primary": {"p50": 0.001, "p95": 0.002, "success_rate": 0.4, "cost_per_1k": 0.0, "heat": 0.1},
        "backup": {"p50": 0.5, "p95": 0.9, "success_rate": 1.0, "cost_per_1k": 0.0, "heat": 1.0},
        "enrich": {"p50": 0.1, "p95": 0.2, "success_rate": 0.996, "heat": 0.2},
    }))
    primary = page.locator('[data-node-id="primary"]')
    expect(primary).to_have_attribute("data-failing", "true")
    expect(primary.get_by_test_id("success-rate")).to_have_text("40% ok")
    expect(primary.get_by_test_id("success-rate")).to_have_class("gf-heat-ok")
    expect(page.locator('[data-node-id="enrich"]').get_by_test_id("success-rate")).to_have_text("99% ok")
    backup = page.locator('[data-node-id="backup"]')
    expect(backup.get_by_test_id("success-rate")).to_have_text("100% ok")
    expect(backup).not_to_have_attribute("data-failing", "true")
    expect(page.locator(".gf-node[data-failing]")).to_have_count(2)
    check_layout(page, scene.graph, "with the heat overlay")


@pytest.mark.browser
@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_every_sample_lays_out_without_overlaps_or_backward_edges(page: Page, canvas_app, name: str):
    graph_dict = sample(name)
    open_scene(page, canvas_app, graph_dict)
    geo = check_layout(page, graph_dict, name)
    assert geo["zoom"] >= 0.5, f"{name} fits only at zoom {geo['zoom']:.2f}"


@pytest.mark.browser
@pytest.mark.parametrize(("name", "inputs"), [
    ("sequential_chain", {"message": "contact me at bob@@example"}),
    ("resilience_demo", {"query": "When will my order arrive?"}),
])
def test_a_run_on_a_sample_keeps_cards_apart_and_ports_free(page: Page, canvas_app, name: str,
                                                             inputs: dict[str, Any]):
    statuses = run_statuses(name, inputs)
    assert any(s.get("error") for s in statuses.values())
    graph_dict = sample(name)
    scene = open_scene(page, canvas_app, graph_dict)
    scene.call(lambda c: c.set_statuses(statuses))
    expect(page.locator(".gf-node[data-status]")).to_have_count(len(graph_dict["nodes"]))
    check_layout(page, graph_dict, f"{name} after its run")
