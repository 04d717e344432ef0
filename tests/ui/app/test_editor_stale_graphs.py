"""A graph the browser sent before Python's latest edit reached it (it crossed that edit on the
wire) neither undoes the edit nor is saved: the browser's answer to the edit, which has both, is."""

from __future__ import annotations

import copy

import pytest
from test_editor import canvas, select, widget

from graphflow.ui.canvas import GraphCanvas

pytestmark = pytest.mark.anyio


def sent(user, event: str, graph: dict, seq: int) -> None:
    args = {"graph": graph, "seq": seq} | ({"reason": "edit"} if event == "graphChange" else {})
    user.find(GraphCanvas).trigger(event, args)


def label_of(graph: dict, node_id: str) -> str | None:
    return next(n.get("label") for n in graph["nodes"] if n["id"] == node_id)


async def apply_label(user, node_id: str, label: str) -> int:
    """Apply a label in the settings form; the number of the edit sent to the browser."""
    select(user, node_id)
    await user.should_see(marker="opt-label")
    user.find(marker="opt-label").clear().type(label)
    user.find(marker="apply-settings").click()
    assert label_of(canvas(user).graph, node_id) == label
    return canvas(user)._sent


async def test_a_graph_sent_before_an_applied_edit_arrived_does_not_undo_it(user, ctx):
    await user.open("/graph/resilience_demo")
    node_id = canvas(user).graph["nodes"][0]["id"]
    before = copy.deepcopy(canvas(user).graph)
    seq = await apply_label(user, node_id, "Applied")
    crossed = copy.deepcopy(before)
    crossed["nodes"][1]["position"] = {"x": 999.0, "y": 9.0}  # a move made in the browser meanwhile
    sent(user, "graphChange", crossed, seq - 1)
    assert label_of(canvas(user).graph, node_id) == "Applied"
    assert widget(user, "opt-label").value == "Applied"  # the form is not reset to the old label
    answer = copy.deepcopy(crossed)
    answer["nodes"][0]["label"] = "Applied"
    sent(user, "graphChange", answer, seq)
    assert canvas(user).graph == answer  # the move and the label


async def test_a_save_sent_before_an_applied_edit_arrived_waits_for_the_answer(user, ctx):
    await user.open("/graph/resilience_demo")
    node_id = canvas(user).graph["nodes"][0]["id"]
    before = copy.deepcopy(canvas(user).graph)
    seq = await apply_label(user, node_id, "Applied")
    sent(user, "save", before, seq - 1)  # Ctrl+S on the canvas, before the label got there
    await user.should_not_see("saved version 2")
    answer = copy.deepcopy(before)
    answer["nodes"][0]["label"] = "Applied"
    sent(user, "graphChange", answer, seq)
    await user.should_see("saved version 2")
    stored = await ctx.workspace.graph("resilience_demo")
    assert stored.version == 2 and stored.spec.nodes[0].label == "Applied"
