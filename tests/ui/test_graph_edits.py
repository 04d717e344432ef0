"""Renaming a node (edges follow) and the graph's own name and description, as dict edits."""

from __future__ import annotations

from graphflow.ui.pages.graph_edits import node_id_problem, rename_node, with_details

GRAPH = {"id": "g", "name": "G", "nodes": [{"id": "a", "kind": "constant"}, {"id": "b", "kind": "output"}],
         "edges": [{"id": "e", "source": "a", "target": "b"}, {"id": "loop", "source": "b", "target": "b"}]}


def test_a_renamed_node_takes_its_edges_along():
    renamed = rename_node(GRAPH, "b", "answer")
    assert [n["id"] for n in renamed["nodes"]] == ["a", "answer"]
    assert [(e["source"], e["target"]) for e in renamed["edges"]] == [("a", "answer"), ("answer", "answer")]
    assert GRAPH["nodes"][1]["id"] == "b"  # the original is left alone


def test_ids_that_are_taken_or_malformed_are_refused():
    assert node_id_problem(GRAPH, "a", "a") is None
    assert node_id_problem(GRAPH, "a", "fresh_id-2") is None
    assert node_id_problem(GRAPH, "a", "b") == "id 'b' is taken by another node"
    assert "start with a letter" in (node_id_problem(GRAPH, "a", "2 words") or "")
    assert "start with a letter" in (node_id_problem(GRAPH, "a", "") or "")


def test_name_and_description():
    assert with_details(GRAPH, "New", "what it does")["description"] == "what it does"
    assert "description" not in with_details({**GRAPH, "description": "old"}, "New", "")
