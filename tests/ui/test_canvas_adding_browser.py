"""Finding and adding nodes fast (issue 12 item 2), in chromium: quick-add by a double click on the
empty canvas or by dropping an edge on empty space (only kinds whose port fits, connected on
choice), a node's right-click menu (duplicate, rename, disable, delete) and the shortcut sheet (?)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

import graphflow

REGISTRY = graphflow.default_registry(installed=False)
SQUARE = {"kind": "math.square", "title": "Square", "description": "", "category": "math", "config_schema": {},
          "default_config": {}, "inputs": [{"name": "in", "type": "number", "multi": False}],
          "outputs": [{"name": "out", "type": "number", "multi": False}]}
KINDS = [kind.describe() for kind in REGISTRY.kinds.values()] + [SQUARE]


def graph(nodes: list[dict[str, Any]], edges: list[dict[str, Any]] = ()) -> dict[str, Any]:
    return {"schema_version": 1, "id": "test", "name": "Test", "nodes": nodes, "edges": list(edges)}


TWO = graph([
    {"id": "ask", "kind": "llm", "config": {"model": "m"}, "position": {"x": 0, "y": 0}},
    {"id": "out", "kind": "output", "config": {"name": "o"}, "position": {"x": 300, "y": 0}},
], [{"id": "e1", "source": "ask", "source_port": "text", "target": "out"}])


def open_scene(page: Page, canvas_app, graph_dict: dict[str, Any]):
    url, scene = canvas_app.add(KINDS, graph_dict, registry=REGISTRY)
    page.goto(url)
    expect(page.locator(".gf-canvas-root[data-ready=true]")).to_be_visible()
    expect(page.locator(".gf-node")).to_have_count(len(graph_dict["nodes"]))
    page.wait_for_function("() => document.querySelectorAll('.vue-flow__node[style*=visible]').length === "
                           f"{len(graph_dict['nodes'])}")
    return scene


def centre(locator) -> tuple[float, float]:
    box = locator.bounding_box()
    assert box is not None
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def last_change(scene, predicate=lambda c: True):
    return scene.wait_for(lambda: [c for c in scene.received("change") if predicate(c)])[-1]


@pytest.mark.browser
def test_double_click_on_the_canvas_adds_the_kind_typed_there(page: Page, canvas_app):
    scene = open_scene(page, canvas_app, TWO)
    pane = page.locator(".vue-flow__pane").bounding_box()
    assert pane is not None
    page.mouse.dblclick(pane["x"] + 200, pane["y"] + pane["height"] - 120)
    quick = page.get_by_test_id("quick-add")
    expect(quick).to_be_visible()
    expect(page.get_by_test_id("quick-search")).to_be_focused()
    page.keyboard.type("temp")
    expect(quick.locator("[data-quick-kind]")).to_have_count(1)
    page.keyboard.type("zzz")
    expect(page.get_by_test_id("quick-none")).to_be_visible()
    for _ in range(3):
        page.keyboard.press("Backspace")
    page.keyboard.press("Enter")
    expect(quick).to_have_count(0)
    expect(page.locator('[data-node-id="template_1"]')).to_be_visible()
    change = last_change(scene, lambda c: any(n["id"] == "template_1" for n in c.graph["nodes"]))
    assert change.reason == "add" and len(change.graph["edges"]) == 1
    # Escape closes it and adds nothing; so does a click on the canvas
    page.mouse.dblclick(pane["x"] + 500, pane["y"] + pane["height"] - 60)
    expect(quick).to_be_visible()
    page.keyboard.press("Escape")
    expect(quick).to_have_count(0)
    expect(page.locator(".gf-node")).to_have_count(3)


@pytest.mark.browser
def test_an_edge_dropped_on_empty_space_offers_only_kinds_that_take_it_and_connects(page: Page, canvas_app):
    scene = open_scene(page, canvas_app, TWO)
    page.mouse.move(*centre(page.locator('[data-node-id="ask"] [data-port="text"][data-port-dir="out"]')))
    page.mouse.down()
    pane = page.locator(".vue-flow__pane").bounding_box()
    assert pane is not None
    drop = (pane["x"] + 330, pane["y"] + pane["height"] - 100)
    page.mouse.move(*drop, steps=6)
    page.mouse.up()
    quick = page.get_by_test_id("quick-add")
    expect(quick).to_be_visible()
    offered = quick.locator("[data-quick-kind]").evaluate_all("els => els.map((el) => el.dataset.quickKind)")
    assert "classify" in offered and "output" in offered
    assert "math.square" not in offered  # takes a number: text is a string
    assert "input" not in offered and "constant" not in offered  # no input port at all
    page.keyboard.type("classifier")
    page.keyboard.press("Enter")
    expect(page.locator('[data-node-id="classify_1"]')).to_be_visible()
    change = last_change(scene, lambda c: len(c.graph["edges"]) == 2)
    assert change.reason == "connect"
    assert {(e["source"], e["source_port"], e["target"], e["target_port"]) for e in change.graph["edges"]} == {
        ("ask", "text", "out", "in"), ("ask", "text", "classify_1", "text")}
    expect(page.locator(".vue-flow__edge")).to_have_count(2)
    page.keyboard.press("Control+z")  # adding and connecting is one step
    undo = last_change(scene, lambda c: c.reason == "undo")
    assert [n["id"] for n in undo.graph["nodes"]] == ["ask", "out"]
    # dragged from an input: kinds with a fitting output, the new card to its left
    page.mouse.move(*centre(page.locator('[data-node-id="out"] [data-port="in"][data-port-dir="in"]')))
    page.mouse.down()
    page.mouse.move(pane["x"] + 420, pane["y"] + pane["height"] - 60, steps=6)
    page.mouse.up()
    expect(quick).to_be_visible()
    offered = quick.locator("[data-quick-kind]").evaluate_all("els => els.map((el) => el.dataset.quickKind)")
    assert "input" in offered and "output" not in offered
    quick.locator('[data-quick-kind="math.square"]').click()
    change = last_change(scene, lambda c: any(n["id"] == "math.square_1" for n in c.graph["nodes"]))
    edges = {(e["source"], e["target"], e["target_port"]) for e in change.graph["edges"]}
    # out.in already had its one connection: the new node is added, the edge refused with the reason
    assert ("math.square_1", "out", "in") not in edges
    expect(page.get_by_test_id("connect-refused")).to_contain_text("already has a connection")


@pytest.mark.browser
def test_right_click_menu_duplicates_renames_disables_and_deletes(page: Page, canvas_app):
    scene = open_scene(page, canvas_app, TWO)
    card = page.locator('[data-node-id="ask"]')
    menu = page.get_by_test_id("node-menu")
    card.locator(".gf-kind").click(button="right")
    expect(menu).to_be_visible()
    menu.locator('[data-action="duplicate"]').click()
    expect(menu).to_have_count(0)
    expect(page.locator('[data-node-id="llm_1"]')).to_be_visible()
    change = last_change(scene, lambda c: any(n["id"] == "llm_1" for n in c.graph["nodes"]))
    copy = next(n for n in change.graph["nodes"] if n["id"] == "llm_1")
    assert copy["config"] == {"model": "m"} and len(change.graph["edges"]) == 1

    card.locator(".gf-kind").click(button="right")
    menu.locator('[data-action="rename"]').click()
    label = card.locator(".gf-label-input")
    expect(label).to_be_focused()
    label.fill("Ask the model")
    label.press("Enter")
    expect(card.locator(".gf-label")).to_have_text("Ask the model")

    card.locator(".gf-kind").click(button="right")
    menu.locator('[data-action="disable"]').click()
    expect(card).to_have_attribute("data-disabled", "true")
    change = last_change(scene, lambda c: any(n.get("disabled") for n in c.graph["nodes"]))
    spec = graphflow.load_graph(change.graph)  # disabled is part of the graph format
    assert spec.nodes[0].disabled and spec.nodes[0].label == "Ask the model"
    card.locator(".gf-kind").click(button="right")
    expect(menu.locator('[data-action="disable"]')).to_have_text("play_circleEnable")
    page.keyboard.press("Escape")
    expect(menu).to_have_count(0)

    page.locator('[data-node-id="out"] .gf-kind').click(button="right")
    menu.locator('[data-action="delete"]').click()
    expect(page.locator('[data-node-id="out"]')).to_have_count(0)
    change = last_change(scene, lambda c: c.reason == "remove")
    assert [n["id"] for n in change.graph["nodes"]] == ["ask", "llm_1"] and change.graph["edges"] == []


@pytest.mark.browser
def test_question_mark_opens_the_shortcut_sheet(page: Page, canvas_app):
    open_scene(page, canvas_app, TWO)
    sheet = page.get_by_test_id("shortcut-sheet")
    page.locator(".vue-flow__pane").click(position={"x": 30, "y": 30})
    page.keyboard.press("?")
    expect(sheet).to_be_visible()
    expect(sheet).to_contain_text("Double click on the canvas")
    expect(sheet).to_contain_text("Ctrl+S")
    page.keyboard.press("Escape")
    expect(sheet).to_have_count(0)
    page.get_by_test_id("shortcuts-toggle").click()
    expect(sheet).to_be_visible()
    page.get_by_test_id("shortcuts-close").click()
    expect(sheet).to_have_count(0)
    page.get_by_test_id("palette-search").press("?")  # typed in a field: just a character
    expect(sheet).to_have_count(0)


@pytest.mark.browser
def test_a_readonly_canvas_offers_no_way_to_add_or_change_nodes(page: Page, canvas_app):
    url, scene = canvas_app.add(KINDS, TWO, registry=REGISTRY, readonly=True)
    page.goto(url)
    expect(page.locator(".gf-canvas-root[data-ready=true]")).to_be_visible()
    expect(page.locator(".gf-node")).to_have_count(2)
    for testid in ("layout", "add-note", "add-group"):
        expect(page.get_by_test_id(testid)).to_have_count(0)
    pane = page.locator(".vue-flow__pane").bounding_box()
    assert pane is not None
    page.mouse.dblclick(pane["x"] + 200, pane["y"] + pane["height"] - 120)
    page.locator('[data-node-id="ask"] .gf-kind').click(button="right")
    page.locator('[data-node-id="ask"] .gf-label').dblclick()
    for key in ("l", "n", "Control+g"):
        page.keyboard.press(key)
    page.keyboard.press("?")  # looking is allowed
    expect(page.get_by_test_id("shortcut-sheet")).to_be_visible()
    expect(page.get_by_test_id("quick-add")).to_have_count(0)
    expect(page.get_by_test_id("node-menu")).to_have_count(0)
    expect(page.locator(".gf-label-input, .gf-note, .gf-group")).to_have_count(0)
    assert scene.received("change") == []
