"""Sticky notes (issue 12 item 3): part of the graph format (GraphSpec.notes), ignored by runs,
added from the canvas' toolbar (N), written in place, moved, undone and deleted like nodes."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

import graphflow

REGISTRY = graphflow.default_registry(installed=False)
KINDS = [kind.describe() for kind in REGISTRY.kinds.values()]
SCRIPT = "<img src=x onerror=window.__xss=1>"


def graph(notes: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"schema_version": 1, "id": "test", "name": "Test", "nodes": [
        {"id": "a", "kind": "constant", "config": {"value": 1}, "position": {"x": 0, "y": 0}},
        {"id": "b", "kind": "output", "config": {"name": "b"}, "position": {"x": 260, "y": 0}},
    ], "edges": [{"id": "e1", "source": "a", "target": "b"}]}
    if notes is not None:
        spec["notes"] = notes
    return spec


def test_notes_are_part_of_the_format_with_distinct_ids_and_runs_ignore_them():
    spec = graphflow.load_graph(graph([{"id": "why", "text": "constant for now", "position": {"x": 0, "y": 120}}]))
    assert spec.notes[0].text == "constant for now"
    assert graphflow.run_sync(spec, {}, registry=REGISTRY).outputs == {"b": 1}
    with pytest.raises(graphflow.GraphValidationError, match="note id 'x' is used twice"):
        graphflow.load_graph(graph([{"id": "x"}, {"id": "x"}]))
    with pytest.raises(graphflow.GraphValidationError):
        graphflow.load_graph(graph([{"id": "long", "text": "x" * 10_001}]))


def open_scene(page: Page, canvas_app, graph_dict: dict[str, Any]):
    url, scene = canvas_app.add(KINDS, graph_dict, registry=REGISTRY)
    page.goto(url)
    expect(page.locator(".gf-canvas-root[data-ready=true]")).to_be_visible()
    expect(page.locator(".gf-node")).to_have_count(len(graph_dict["nodes"]))
    return scene


@pytest.mark.browser
def test_a_note_is_added_written_moved_undone_and_deleted(page: Page, canvas_app):
    scene = open_scene(page, canvas_app, graph([]))
    page.get_by_test_id("add-note").click()
    note = page.get_by_test_id("note")
    expect(note.locator("textarea")).to_be_focused()
    note.locator("textarea").fill(f"Ask {SCRIPT} first\nthen answer")
    page.locator(".vue-flow__pane").click(position={"x": 20, "y": 20})  # a click outside keeps the text
    expect(note).to_have_text(f"Ask {SCRIPT} first\nthen answer")
    assert page.locator(".vue-flow img").count() == 0 and page.evaluate("window.__xss") is None
    change = scene.wait_for(lambda: [c for c in scene.received("change") if c.graph.get("notes")
                                     and c.graph["notes"][0]["text"]])[-1]
    assert change.reason == "edit" and [n["id"] for n in change.graph["notes"]] == ["note_1"]
    assert [n["id"] for n in change.graph["nodes"]] == ["a", "b"]  # a note is not a node
    graphflow.load_graph(change.graph)
    assert not [s for s in scene.received("select") if s.node_ids and s.node_ids[0].startswith("note")]

    box = note.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + 20, box["y"] + 20)
    page.mouse.down()
    page.mouse.move(box["x"] + 120, box["y"] + 80, steps=4)
    page.mouse.up()
    moved = scene.wait_for(lambda: [c for c in scene.received("change") if c.reason == "move"])[-1]
    assert moved.graph["notes"][0]["position"] != change.graph["notes"][0]["position"]
    page.keyboard.press("Control+z")
    undo = scene.wait_for(lambda: [c for c in scene.received("change") if c.reason == "undo"])[-1]
    assert undo.graph["notes"][0]["position"] == change.graph["notes"][0]["position"]

    note.click()
    page.keyboard.press("Delete")
    expect(note).to_have_count(0)
    removed = scene.wait_for(lambda: [c for c in scene.received("change") if c.reason == "remove"])[-1]
    assert removed.graph["notes"] == [] and len(removed.graph["edges"]) == 1


@pytest.mark.browser
def test_saved_notes_show_where_they_were_and_a_graph_without_notes_stays_without(page: Page, canvas_app):
    open_scene(page, canvas_app, graph([{"id": "why", "text": "explains b", "position": {"x": 260, "y": 140}}]))
    expect(page.locator('[data-note-id="why"]')).to_have_text("explains b")
    scene = open_scene(page, canvas_app, graph())  # a document written before notes existed
    page.locator('[data-node-id="a"] .gf-kind').click()
    page.keyboard.press("l")
    change = scene.wait_for(lambda: [c for c in scene.received("change") if c.reason == "layout"])[-1]
    assert "notes" not in change.graph


def test_groups_are_part_of_the_format_with_distinct_ids():
    spec = graphflow.load_graph({**graph(), "groups": [{"id": "g", "label": "Prepare", "width": 420, "height": 160}]})
    assert spec.groups[0].label == "Prepare" and spec.groups[0].width == 420
    with pytest.raises(graphflow.GraphValidationError, match="group id 'g' is used twice"):
        graphflow.load_graph({**graph(), "groups": [{"id": "g"}, {"id": "g"}]})
    with pytest.raises(graphflow.GraphValidationError):
        graphflow.load_graph({**graph(), "groups": [{"id": "g", "width": 0}]})


@pytest.mark.browser
def test_a_group_frames_the_selection_and_dragging_it_moves_what_is_inside(page: Page, canvas_app):
    spec = graph()
    spec["nodes"].append({"id": "far", "kind": "delay", "position": {"x": 0, "y": 300}})
    scene = open_scene(page, canvas_app, spec)
    page.locator('[data-node-id="a"] .gf-kind').click()
    page.locator('[data-node-id="b"] .gf-kind').click(modifiers=["Shift"])
    page.keyboard.press("Control+g")
    group = page.get_by_test_id("group")
    name = group.locator("input")
    expect(name).to_be_focused()
    name.fill(f"Prepare {SCRIPT}")
    name.press("Enter")
    expect(group.locator(".gf-group-label")).to_have_text(f"Prepare {SCRIPT}")
    assert page.locator(".vue-flow img").count() == 0
    made = scene.wait_for(lambda: [c for c in scene.received("change") if c.graph.get("groups")
                                   and c.graph["groups"][0]["label"]])[-1]
    frame = made.graph["groups"][0]
    nodes = {n["id"]: n["position"] for n in made.graph["nodes"]}
    assert frame["position"]["x"] < nodes["a"]["x"] and frame["position"]["y"] < nodes["a"]["y"]
    assert frame["position"]["x"] + frame["width"] > nodes["b"]["x"] + 150
    assert frame["position"]["y"] + frame["height"] < nodes["far"]["y"]
    graphflow.load_graph(made.graph)

    page.locator(".vue-flow__pane").click(position={"x": 15, "y": 15})  # nothing selected: only the group moves it
    label = group.locator(".gf-group-label").bounding_box()
    assert label is not None
    page.mouse.move(label["x"] + 10, label["y"] + label["height"] / 2)
    page.mouse.down()
    page.mouse.move(label["x"] + 110, label["y"] + 60, steps=5)
    page.mouse.up()
    moved = scene.wait_for(lambda: [c for c in scene.received("change") if c.reason == "move"])[-1]
    after = {n["id"]: n["position"] for n in moved.graph["nodes"]}
    shift = (moved.graph["groups"][0]["position"]["x"] - frame["position"]["x"],
             moved.graph["groups"][0]["position"]["y"] - frame["position"]["y"])
    assert shift[0] > 50 and shift[1] > 30
    for inside in ("a", "b"):
        moved_by = (after[inside]["x"] - nodes[inside]["x"], after[inside]["y"] - nodes[inside]["y"])
        assert moved_by == pytest.approx(shift)
    assert after["far"] == nodes["far"]
    page.keyboard.press("Control+z")  # one step puts the group and what it moved back
    undo = scene.wait_for(lambda: [c for c in scene.received("change") if c.reason == "undo"])[-1]
    assert {n["id"]: n["position"] for n in undo.graph["nodes"]} == nodes
    # a selected group stays under its nodes: they can still be clicked
    group.locator(".gf-group-label").click()
    expect(page.locator(".vue-flow__node.selected")).to_have_count(1)
    page.locator('[data-node-id="a"] .gf-kind').click()
    scene.wait_for(lambda: [s for s in scene.received("select") if s.node_id == "a"])
