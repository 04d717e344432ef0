"""Reading the canvas (issue 12 item 3), in chromium: automatic layout (on demand and for a graph
without positions), a readable default zoom, a category icon and colour on each card, conditions
and router routes as edge labels (escaped), a heat overlay that is never red, the minimap toggle
and the dark theme."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

import graphflow

REGISTRY = graphflow.default_registry(installed=False)
KINDS = [kind.describe() for kind in REGISTRY.kinds.values()]
ZOOM = "() => new DOMMatrix(getComputedStyle(document.querySelector('.vue-flow__transformationpane')).transform).a"


def graph(nodes: list[dict[str, Any]], edges: list[dict[str, Any]] = ()) -> dict[str, Any]:
    return {"schema_version": 1, "id": "test", "name": "Test", "nodes": nodes, "edges": list(edges)}


def chain(n: int, *, positions: bool = True) -> dict[str, Any]:
    """input -> n-2 delays -> output, all at 0,0 unless ``positions``."""
    ids = ["in", *(f"d{i}" for i in range(1, n - 1)), "out"]
    kinds = ["input", *(["delay"] * (n - 2)), "output"]
    configs = [{"name": "x"}, *([{}] * (n - 2)), {"name": "y"}]
    nodes = [{"id": i, "kind": k, "config": c, **({"position": {"x": 0, "y": 60 * j}} if positions else {})}
             for j, (i, k, c) in enumerate(zip(ids, kinds, configs, strict=True))]
    edges = [{"id": f"e{j}", "source": a, "target": b} for j, (a, b) in enumerate(zip(ids, ids[1:], strict=False))]
    return graph(nodes, edges)


def open_scene(page: Page, canvas_app, graph_dict: dict[str, Any], **options: Any):
    url, scene = canvas_app.add(KINDS, graph_dict, registry=REGISTRY, **options)
    page.goto(url)
    expect(page.locator(".gf-canvas-root[data-ready=true]")).to_be_visible()
    expect(page.locator(".gf-node")).to_have_count(len(graph_dict["nodes"]))
    page.wait_for_function("() => !!document.querySelector('.vue-flow__transformationpane')")
    return scene


def boxes(page: Page) -> dict[str, dict[str, float]]:
    return page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('.gf-node')].map((el) => {
        const r = el.getBoundingClientRect();
        return [el.dataset.nodeId, { left: r.left, right: r.right, top: r.top, bottom: r.bottom }];
    }))""")


def overlapping(b: dict[str, dict[str, float]]) -> list[tuple[str, str]]:
    ids = sorted(b)
    return [(p, q) for i, p in enumerate(ids) for q in ids[i + 1:]
            if b[p]["left"] < b[q]["right"] and b[q]["left"] < b[p]["right"]
            and b[p]["top"] < b[q]["bottom"] and b[q]["top"] < b[p]["bottom"]]


@pytest.mark.browser
def test_layout_button_lays_the_graph_out_left_to_right_as_one_undoable_edit(page: Page, canvas_app):
    stacked = chain(5)  # one column: every edge runs downwards
    scene = open_scene(page, canvas_app, stacked)
    page.get_by_test_id("layout").click()
    change = scene.wait_for(lambda: [c for c in scene.received("change") if c.reason == "layout"])[-1]
    xs = {n["id"]: n["position"]["x"] for n in change.graph["nodes"]}
    assert xs["in"] < xs["d1"] < xs["d2"] < xs["d3"] < xs["out"]
    expect(page.locator(".gf-node")).to_have_count(5)
    page.wait_for_function("() => document.querySelectorAll('.vue-flow__node[style*=visible]').length === 5")
    b = boxes(page)
    assert not overlapping(b)
    assert all(b[a]["right"] < b[c]["left"] for a, c in [("in", "d1"), ("d1", "d2"), ("d3", "out")])
    page.keyboard.press("Control+z")
    undo = scene.wait_for(lambda: [c for c in scene.received("change") if c.reason == "undo"])[-1]
    assert {n["id"]: n["position"] for n in undo.graph["nodes"]} == {
        n["id"]: n["position"] for n in stacked["nodes"]}
    scene.call(lambda c: c.auto_layout())  # the same from Python
    scene.wait_for(lambda: len([c for c in scene.received("change") if c.reason == "layout"]) == 2)


@pytest.mark.browser
def test_a_graph_without_positions_is_laid_out_when_it_opens(page: Page, canvas_app):
    scene = open_scene(page, canvas_app, chain(4, positions=False))
    change = scene.wait_for(lambda: [c for c in scene.received("change") if c.reason == "layout"])[0]
    xs = [n["position"]["x"] for n in change.graph["nodes"]]
    assert xs == sorted(xs) and len(set(xs)) == 4
    assert scene.canvas.graph == change.graph  # Python holds the positions the canvas shows
    page.wait_for_function("() => document.querySelectorAll('.vue-flow__node[style*=visible]').length === 4")
    assert not overlapping(boxes(page))


@pytest.mark.browser
def test_a_long_graph_opens_at_a_readable_zoom_at_its_start(page: Page, canvas_app):
    long = chain(30)
    for j, node in enumerate(long["nodes"]):
        node["position"] = {"x": 240 * j, "y": 0}
    open_scene(page, canvas_app, long)
    page.wait_for_function(f"() => ({ZOOM})() < 1")  # fitted
    assert page.evaluate(ZOOM) == pytest.approx(0.75)
    pane = page.locator(".vue-flow__pane").bounding_box()
    first = page.locator('[data-node-id="in"]').bounding_box()
    assert pane is not None and first is not None
    assert pane["x"] < first["x"] < pane["x"] + 100  # the start is in view, at the left
    font = page.locator('[data-node-id="in"] .gf-label').evaluate("el => parseFloat(getComputedStyle(el).fontSize)")
    assert font * page.evaluate(ZOOM) >= 9  # px on screen
    # a small graph is shown whole, at its natural size
    open_scene(page, canvas_app, chain(3))
    page.wait_for_function(f"() => ({ZOOM})() === 1")


@pytest.mark.browser
def test_cards_show_an_icon_and_colour_per_category(page: Page, canvas_app):
    open_scene(page, canvas_app, graph([
        {"id": "q", "kind": "input", "config": {"name": "q"}, "position": {"x": 0, "y": 0}},
        {"id": "ask", "kind": "llm", "config": {"model": "m"}, "position": {"x": 250, "y": 0}},
        {"id": "pick", "kind": "router", "config": {"routes": []}, "position": {"x": 500, "y": 0}},
        {"id": "mystery", "kind": "plugin.thing", "position": {"x": 750, "y": 0}},
    ]))
    looks = page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('.gf-node')].map((el) => [
        el.dataset.nodeId, [el.dataset.category, el.querySelector('[data-testid=kind-icon]').textContent,
                            getComputedStyle(el).borderTopColor]]))""")
    assert [looks[n][0] for n in ("q", "ask", "pick", "mystery")] == ["io", "model", "routing", "other"]
    assert len({looks[n][1] for n in looks}) == 4 and len({looks[n][2] for n in looks}) == 4
    icon_font = page.locator('[data-node-id="ask"] [data-testid=kind-icon]').evaluate(
        "el => getComputedStyle(el).fontFamily")
    assert "Material Icons" in icon_font


@pytest.mark.browser
def test_conditions_and_router_routes_label_their_edges_as_text(page: Page, canvas_app):
    script = "<img src=x onerror=window.__xss=1>"
    open_scene(page, canvas_app, graph([
        {"id": "in", "kind": "input", "config": {"name": "x", "type": "integer"}, "position": {"x": 0, "y": 0}},
        {"id": "route", "kind": "router", "config": {"routes": [{"port": "big", "when": "value > 10"}],
                                                     "default": "small"}, "position": {"x": 260, "y": 0}},
        {"id": "a", "kind": "output", "config": {"name": "a"}, "position": {"x": 520, "y": -80}},
        {"id": "b", "kind": "output", "config": {"name": "b"}, "position": {"x": 520, "y": 80}},
        {"id": "c", "kind": "output", "config": {"name": "c"}, "position": {"x": 260, "y": 200}},
    ], [
        {"id": "e1", "source": "in", "target": "route"},
        {"id": "e2", "source": "route", "source_port": "big", "target": "a"},
        {"id": "e3", "source": "route", "source_port": "small", "target": "b"},
        {"id": "e4", "source": "in", "target": "c", "condition": f"value < 0 or '{script}' == value"},
    ]))
    labels = page.locator(".vue-flow__edge-text")
    expect(labels).to_have_count(3)
    big, condition, small = sorted(labels.all_text_contents())
    assert (big, small) == ("big", "small")
    assert condition.startswith("if value < 0 or '<img") and condition.endswith("…")  # cut at 40 characters
    assert page.locator(".vue-flow img").count() == 0
    assert page.evaluate("window.__xss") is None


@pytest.mark.browser
def test_the_slowest_node_is_not_painted_red(page: Page, canvas_app):
    scene = open_scene(page, canvas_app, chain(3))
    scene.call(lambda c: c.set_heat({"in": {"p95": 0.001, "success_rate": 1.0, "heat": 0.0},
                                     "d1": {"p95": 2.0, "success_rate": 1.0, "heat": 1.0},
                                     "out": {"p95": 0.1, "success_rate": 0.5, "heat": 0.05}}))
    expect(page.locator('[data-node-id="d1"]').get_by_test_id("heat")).to_be_visible()
    hues = page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('.gf-node')].map((el) => {
        const probe = document.createElement('div');
        probe.style.color = getComputedStyle(el).getPropertyValue('--gf-heat');
        document.body.appendChild(probe);
        const [r, g, b] = getComputedStyle(probe).color.match(/\\d+/g).map(Number);
        probe.remove();
        return [el.dataset.nodeId, { r, g, b }];
    }))""")
    slowest = hues["d1"]
    assert slowest["b"] > slowest["r"] and slowest["b"] > slowest["g"]  # deep violet-blue, not red
    assert page.locator('[data-node-id="d1"]').get_attribute("data-failing") is None
    assert page.locator('[data-node-id="out"]').get_attribute("data-failing") == "true"  # failing: red ring


@pytest.mark.browser
def test_minimap_toggle_and_dark_theme_are_kept(page: Page, canvas_app):
    open_scene(page, canvas_app, chain(3))
    expect(page.locator(".vue-flow__minimap")).to_have_count(0)  # a small graph: off by default
    page.get_by_test_id("minimap-toggle").click()
    expect(page.locator(".vue-flow__minimap")).to_have_count(1)
    root = page.locator(".gf-canvas-root")
    expect(root).to_have_attribute("data-theme", "light")
    light = page.locator(".gf-node").first.evaluate("el => getComputedStyle(el).backgroundColor")
    page.get_by_test_id("theme-toggle").click()
    expect(root).to_have_attribute("data-theme", "dark")
    dark = page.locator(".gf-node").first.evaluate("el => getComputedStyle(el).backgroundColor")
    assert light == "rgb(255, 255, 255)" and dark != light
    page.reload()  # both choices are kept in this browser
    expect(page.locator(".gf-canvas-root[data-ready=true]")).to_have_attribute("data-theme", "dark")
    expect(page.locator(".vue-flow__minimap")).to_have_count(1)
    page.locator(".vue-flow__pane").click(position={"x": 20, "y": 20})
    page.keyboard.press("m")
    page.keyboard.press("t")
    expect(page.locator(".vue-flow__minimap")).to_have_count(0)
    expect(root).to_have_attribute("data-theme", "light")
    page.evaluate("localStorage.removeItem('graphflow-canvas')")  # other tests start from the defaults


@pytest.mark.browser
def test_a_large_lazy_graph_is_laid_out_whole(page: Page, canvas_app):
    big = chain(300)  # above 200 nodes only the cards in view are rendered: the others are laid out on estimates
    scene = open_scene_lazy(page, canvas_app, big)
    page.keyboard.press("l")
    change = scene.wait_for(lambda: [c for c in scene.received("change") if c.reason == "layout"], timeout=15)[-1]
    xs = [n["position"]["x"] for n in change.graph["nodes"]]
    assert len(xs) == 300 and xs == sorted(xs) and len(set(xs)) == 300


def open_scene_lazy(page: Page, canvas_app, graph_dict: dict[str, Any]):
    url, scene = canvas_app.add(KINDS, graph_dict, registry=REGISTRY)
    page.goto(url)
    expect(page.locator(".gf-canvas-root[data-ready=true]")).to_be_visible()
    page.wait_for_function("() => document.querySelectorAll('.vue-flow__node[style*=visible]').length > 0")
    page.locator(".vue-flow__pane").click(position={"x": 10, "y": 10})  # the canvas has the keyboard
    return scene
