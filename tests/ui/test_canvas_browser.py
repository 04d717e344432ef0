"""The canvas in a real browser (rendering, palette drops, wiring rules, status badges, editing, XSS),
and the Python helpers it relies on."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

import graphflow
from graphflow.formatting import duration
from graphflow.state import NodeRecord
from graphflow.ui.canvas import node_status, ports_for

REGISTRY = graphflow.default_registry(installed=False)  # built-in kinds only
# Two typed kinds, as a plugin would describe them: the built-in ones take "any".
TYPED_KINDS = [
    {"kind": "text.embed", "title": "Embed text", "description": "", "category": "ai", "config_schema": {},
     "default_config": None, "inputs": [{"name": "in", "type": "string", "multi": False}],
     "outputs": [{"name": "vector", "type": "array", "multi": False}]},
    {"kind": "math.square", "title": "Square", "description": "", "category": "math", "config_schema": {},
     "default_config": {}, "inputs": [{"name": "in", "type": "number", "multi": False}],
     "outputs": [{"name": "out", "type": "number", "multi": False}]},
]
KINDS = [kind.describe() for kind in REGISTRY.kinds.values()] + TYPED_KINDS


def graph(nodes: list[dict[str, Any]], edges: list[dict[str, Any]] = ()) -> dict[str, Any]:
    return {"schema_version": 1, "id": "test", "name": "Test", "nodes": nodes, "edges": list(edges)}


THREE = graph(
    [
        {"id": "in", "kind": "input", "config": {"name": "x", "type": "integer"}, "position": {"x": 0, "y": 0}},
        {"id": "route", "kind": "router", "config": {"routes": [{"port": "big", "when": "value > 10"}],
                                                     "default": "small"}, "position": {"x": 260, "y": 0}},
        {"id": "out", "kind": "output", "label": "Result", "config": {"name": "result"},
         "position": {"x": 520, "y": 0}},
    ],
    [{"id": "e1", "source": "in", "target": "route"},
     {"id": "e2", "source": "route", "source_port": "big", "target": "out"}],
)


def open_scene(page: Page, canvas_app, graph_dict: dict[str, Any], **options: Any):
    url, scene = canvas_app.add(KINDS, graph_dict, registry=REGISTRY, **options)
    page.goto(url)
    expect(page.locator(".gf-canvas-root[data-ready=true]")).to_be_visible()
    expect(page.locator(".gf-node")).to_have_count(len(graph_dict["nodes"]))
    return scene


def handle(page: Page, node_id: str, port: str, direction: str):
    return page.locator(f'[data-node-id="{node_id}"] [data-port="{port}"][data-port-dir="{direction}"]')


def centre(locator) -> tuple[float, float]:
    box = locator.bounding_box()
    assert box is not None
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def connect(page: Page, source: str, source_port: str, target: str, target_port: str) -> None:
    page.mouse.move(*centre(handle(page, source, source_port, "out")))
    page.mouse.down()
    page.mouse.move(*centre(handle(page, target, target_port, "in")), steps=5)
    page.mouse.up()


def drop_from_palette(page: Page, kind: str, x: float, y: float) -> None:
    pane = page.locator(".vue-flow__pane")
    page.locator(f'[data-palette-kind="{kind}"]').drag_to(pane, target_position={"x": x, "y": y})


def edge_keys(graph_dict: dict[str, Any]) -> set[tuple[str, str, str, str]]:
    return {(e["source"], e["source_port"], e["target"], e["target_port"]) for e in graph_dict["edges"]}


@pytest.mark.browser
def test_renders_nodes_with_their_ports(page: Page, canvas_app):
    open_scene(page, canvas_app, THREE)
    expect(page.locator('[data-node-id="out"] .gf-label')).to_have_text("Result")
    expect(page.locator('[data-node-id="route"] .gf-kind')).to_have_text("Router")
    # the router's outputs come from its config (ports_for), the input's type from its config
    expect(page.locator('[data-node-id="route"] [data-port-dir="out"]')).to_have_count(2)
    for port in ("big", "small"):
        expect(handle(page, "route", port, "out")).to_be_visible()
    expect(handle(page, "in", "out", "out")).to_have_attribute("data-port-type", "integer")
    expect(handle(page, "out", "in", "in")).to_be_visible()
    expect(page.locator('[data-node-id="in"] [data-port-dir="in"]')).to_have_count(0)
    expect(page.locator(".vue-flow__edge")).to_have_count(2)


@pytest.mark.browser
def test_palette_drop_and_connect_reaches_python(page: Page, canvas_app):
    scene = open_scene(page, canvas_app, graph([]))
    drop_from_palette(page, "constant", 150, 150)
    drop_from_palette(page, "output", 500, 300)
    expect(page.locator(".gf-node")).to_have_count(2)
    connect(page, "constant_1", "out", "output_1", "in")
    expect(page.locator(".vue-flow__edge")).to_have_count(1)
    change = scene.wait_for(lambda: [c for c in scene.received("change") if c.graph["edges"]])[-1]
    assert change.reason == "connect"
    assert edge_keys(change.graph) == {("constant_1", "out", "output_1", "in")}
    nodes = {n["id"]: n for n in change.graph["nodes"]}
    assert nodes["constant_1"]["kind"] == "constant" and nodes["constant_1"]["config"] == {"value": None}
    assert nodes["output_1"]["config"] == {}  # no default config: an empty one, for the settings form to fill
    assert nodes["output_1"]["position"]["x"] > nodes["constant_1"]["position"]["x"]
    assert scene.canvas.graph == change.graph
    graphflow.load_graph(change.graph)  # a valid GraphSpec document


@pytest.mark.browser
def test_type_mismatch_is_refused_with_a_reason(page: Page, canvas_app):
    scene = open_scene(page, canvas_app, graph([
        {"id": "embed", "kind": "text.embed", "position": {"x": 0, "y": 0}},
        {"id": "square", "kind": "math.square", "position": {"x": 300, "y": 0}},
        {"id": "wait", "kind": "delay", "position": {"x": 600, "y": 150}},
    ]))
    connect(page, "embed", "vector", "square", "in")
    toast = page.get_by_test_id("connect-refused")
    expect(toast).to_be_visible()
    expect(toast).to_contain_text("type mismatch")
    expect(toast).to_contain_text("array")
    expect(page.locator(".vue-flow__edge")).to_have_count(0)
    refused = scene.wait_for(lambda: scene.received("connect_refused"))[0]
    assert "type mismatch" in refused.reason
    assert (refused.source, refused.source_port) == ("embed", "vector")
    assert (refused.target, refused.target_port) == ("square", "in")
    # a compatible pair goes through, and then a cycle is refused
    connect(page, "square", "out", "wait", "in")
    expect(page.locator(".vue-flow__edge")).to_have_count(1)
    connect(page, "wait", "out", "square", "in")
    expect(toast).to_contain_text("cycle")
    expect(page.locator(".vue-flow__edge")).to_have_count(1)
    assert not [c for c in scene.received("change") if len(c.graph["edges"]) > 1]


@pytest.mark.browser
def test_status_updates_the_badge(page: Page, canvas_app):
    scene = open_scene(page, canvas_app, THREE)
    node = page.locator('[data-node-id="route"]')
    expect(node).not_to_have_attribute("data-status", "running")
    scene.call(lambda c: c.set_node_status("route", {"status": "running", "attempts": 1}))
    expect(node).to_have_attribute("data-status", "running")
    expect(node.get_by_test_id("attempts")).to_have_count(0)
    scene.call(lambda c: c.set_node_status("route", {
        "status": "retrying", "attempts": 3, "error": "TimeoutError: slow", "breaker": "open", "duration": 0.25}))
    expect(node).to_have_attribute("data-status", "retrying")
    expect(node).to_have_attribute("data-breaker", "open")
    expect(node.get_by_test_id("attempts")).to_have_text("×3")
    expect(node.get_by_test_id("breaker")).to_have_text("breaker open")
    expect(node.get_by_test_id("error")).to_have_text("TimeoutError: slow")
    scene.call(lambda c: c.set_statuses({"in": {"status": "succeeded", "duration": 0.01},
                                         "out": {"status": "running", "progress": [3, 1, 10]}}))
    expect(page.locator('[data-node-id="in"]')).to_have_attribute("data-status", "succeeded")
    expect(node.locator(".gf-duration")).to_have_text("250 ms")
    expect(page.locator('[data-node-id="in"] .gf-duration')).to_have_text(duration(0.01))  # graphflow.formatting's rule
    scene.call(lambda c: c.set_statuses({"in": {"status": "succeeded", "duration": 0.0004}}))
    expect(page.locator('[data-node-id="in"] .gf-duration')).to_have_text(duration(0.0004))
    expect(page.locator('[data-node-id="out"]').get_by_test_id("progress")).to_have_text("3/10 (1 failed)")
    scene.call(lambda c: c.set_edge_states({"e1": "taken", "e2": "untaken"}))
    expect(page.locator('.vue-flow__edge.gf-edge-taken')).to_have_count(1)
    expect(page.locator('.vue-flow__edge.gf-edge-untaken')).to_have_count(1)
    scene.call(lambda c: c.set_problems({"out": ["input 'in' is not connected"]}))
    expect(page.locator('[data-node-id="out"]').get_by_test_id("problems")).to_have_text("input 'in' is not connected")
    scene.call(lambda c: c.reset_statuses())
    expect(page.locator("[data-status]")).to_have_count(0)
    expect(page.locator(".gf-edge-taken")).to_have_count(0)
    assert scene.received("change") == []  # run overlays are not edits


@pytest.mark.browser
def test_undo_removes_the_added_node_and_redo_restores_it(page: Page, canvas_app):
    scene = open_scene(page, canvas_app, THREE)
    drop_from_palette(page, "delay", 300, 400)
    expect(page.locator(".gf-node")).to_have_count(4)
    expect(page.locator('[data-node-id="delay_1"]')).to_be_visible()
    page.keyboard.press("Control+z")
    expect(page.locator(".gf-node")).to_have_count(3)
    undo = scene.wait_for(lambda: [c for c in scene.received("change") if c.reason == "undo"])[0]
    assert [n["id"] for n in undo.graph["nodes"]] == ["in", "route", "out"]
    page.keyboard.press("Control+y")
    expect(page.locator('[data-node-id="delay_1"]')).to_be_visible()
    page.keyboard.press("Control+Shift+z")  # nothing left to redo
    scene.call(lambda c: c.undo())
    expect(page.locator(".gf-node")).to_have_count(3)
    scene.call(lambda c: c.redo())
    expect(page.locator(".gf-node")).to_have_count(4)
    scene.wait_for(lambda: len(scene.received("change")) >= 5)
    assert [c.reason for c in scene.received("change")] == ["add", "undo", "redo", "undo", "redo"]


@pytest.mark.browser
def test_delete_removes_the_selected_node_and_its_edges(page: Page, canvas_app):
    scene = open_scene(page, canvas_app, THREE)
    page.locator('[data-node-id="route"] .gf-kind').click()
    selected = scene.wait_for(lambda: scene.received("select"))[-1]
    assert selected.node_id == "route"
    page.keyboard.press("Delete")
    expect(page.locator(".gf-node")).to_have_count(2)
    expect(page.locator(".vue-flow__edge")).to_have_count(0)
    change = scene.wait_for(lambda: scene.received("change"))[-1]
    assert [n["id"] for n in change.graph["nodes"]] == ["in", "out"]
    assert change.graph["edges"] == []
    assert len(scene.received("change")) == 1  # one edit, one event
    assert scene.wait_for(lambda: scene.received("select")[-1].node_id is None)
    page.keyboard.press("Control+s")
    saved = scene.wait_for(lambda: scene.received("save"))[0]
    assert saved.graph == change.graph


@pytest.mark.browser
def test_copy_paste_gives_new_ids_and_keeps_inner_edges(page: Page, canvas_app):
    scene = open_scene(page, canvas_app, THREE)
    page.locator('[data-node-id="in"] .gf-kind').click()
    page.locator('[data-node-id="route"] .gf-kind').click(modifiers=["Shift"])
    page.keyboard.press("Control+c")
    page.keyboard.press("Control+v")
    expect(page.locator(".gf-node")).to_have_count(5)
    change = scene.wait_for(lambda: scene.received("change"))[-1]
    nodes = {n["id"]: n for n in change.graph["nodes"]}
    assert {"input_1", "router_1"} <= set(nodes)
    assert nodes["router_1"]["config"] == nodes["route"]["config"]
    assert nodes["input_1"]["position"]["x"] == nodes["in"]["position"]["x"] + 40
    assert ("input_1", "out", "router_1", "in") in edge_keys(change.graph)
    expect(handle(page, "router_1", "big", "out")).to_be_visible()  # the pasted router keeps its routes' ports


@pytest.mark.browser
def test_labels_are_text_never_html(page: Page, canvas_app):
    img = "<img src=x onerror=window.__xss=1>"
    script = "<script>window.__xss=2</script>"
    open_scene(page, canvas_app, graph([
        {"id": "a", "kind": "constant", "label": img, "config": {"value": 1}},
        {"id": "b", "kind": "output", "label": script, "config": {"name": "o"}, "position": {"x": 300, "y": 0}},
    ], [{"id": "e1", "source": "a", "target": "b", "condition": img}]))
    expect(page.locator('[data-node-id="a"] .gf-label')).to_have_text(img)
    expect(page.locator('[data-node-id="b"] .gf-label')).to_have_text(script)
    assert page.locator(".vue-flow img, .vue-flow script").count() == 0
    page.wait_for_timeout(200)  # give an injected onerror handler time to fire
    assert page.evaluate("typeof window.__xss") == "undefined"


@pytest.mark.browser
def test_relabel_in_place_and_update_node_from_python(page: Page, canvas_app):
    scene = open_scene(page, canvas_app, THREE)
    page.locator('[data-node-id="in"] .gf-label').dblclick()
    editor = page.locator('[data-node-id="in"] .gf-label-input')
    editor.fill("Amount")
    editor.press("Enter")
    expect(page.locator('[data-node-id="in"] .gf-label')).to_have_text("Amount")
    change = scene.wait_for(lambda: scene.received("change"))[-1]
    assert change.reason == "edit" and change.graph["nodes"][0]["label"] == "Amount"
    # a new route: the registry recomputes the router's ports, the canvas grows a handle
    routes = {"routes": [{"port": "big", "when": "value > 10"}, {"port": "huge", "when": "value > 1000"}],
              "default": "small"}
    scene.call(lambda c: c.update_node("route", config=routes))
    expect(handle(page, "route", "huge", "out")).to_be_visible()
    change = scene.wait_for(lambda: [c for c in scene.received("change") if "huge" in str(c.graph)])[-1]
    assert change.graph["nodes"][1]["config"] == routes


def large_graph(n: int, columns: int = 25) -> dict[str, Any]:
    nodes = [{"id": f"n{i}", "kind": "delay", "config": {"seconds": 0.0},
              "position": {"x": (i % columns) * 240, "y": (i // columns) * 140}} for i in range(n)]
    edges = [{"id": f"e{i}", "source": f"n{i - 1}", "target": f"n{i}"} for i in range(1, n) if i % columns]
    return graph(nodes, edges)


@pytest.mark.browser
def test_a_large_graph_renders_what_is_in_view_and_exports_every_node(page: Page, canvas_app):
    big = large_graph(1_000)
    url, scene = canvas_app.add(KINDS, big, registry=REGISTRY)
    page.goto(url)
    expect(page.locator(".gf-canvas-root[data-ready=true]")).to_be_visible()
    expect(page.locator(".gf-node").first).to_be_visible()
    rendered = page.locator(".gf-node").count()
    assert 0 < rendered < 400  # lazy above 200 nodes, opened at a readable zoom
    victim = page.locator(".gf-node").nth(rendered // 2).get_attribute("data-node-id")
    page.locator(f'[data-node-id="{victim}"] .gf-kind').click()
    page.keyboard.press("Delete")
    change = scene.wait_for(lambda: scene.received("change"))[-1]
    ids = [n["id"] for n in change.graph["nodes"]]
    assert len(ids) == 999 and victim not in ids  # nodes never rendered are in the graph too
    assert len(change.graph["edges"]) == len(big["edges"]) - sum(
        victim in (e["source"], e["target"]) for e in big["edges"])


def test_ports_for_resolves_ports_that_depend_on_config():
    ports = ports_for(THREE, REGISTRY)
    assert [p["name"] for p in ports["route"]["outputs"]] == ["big", "small"]
    assert ports["in"]["outputs"][0]["type"] == "integer"
    unfinished = graph([{"id": "r", "kind": "router", "config": {}}, {"id": "x", "kind": "no.such.kind"}])
    assert ports_for(unfinished, REGISTRY) == {"r": {"inputs": ports["route"]["inputs"], "outputs": []}}
    assert ports_for(graphflow.load_graph(THREE), REGISTRY) == ports


def test_node_status_from_a_run_record():
    record = NodeRecord(status="failed", attempts=2, duration=0.5, error="ValueError: x", progress=(3, 1, 9))
    assert node_status(record, breaker="open") == {
        "status": "failed", "attempts": 2, "error": "ValueError: x", "breaker": "open", "progress": [3, 1, 9],
        "duration": 0.5}
