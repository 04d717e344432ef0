"""diff_graphs: node by node, setting by setting, edges by id, the graph's own fields."""

from __future__ import annotations

from typing import Any

import graphflow
from graphflow.diff import ABSENT, Change, diff_graphs


def spec(**changes: Any) -> graphflow.GraphSpec:
    data: dict[str, Any] = {
        "schema_version": 1, "id": "g", "name": "G",
        "nodes": [{"id": "q", "kind": "input", "config": {"name": "q", "type": "string"}},
                  {"id": "ask", "kind": "llm", "config": {"prompt": "{value}", "model": "m1"},
                   "retry": {"max_attempts": 3}},
                  {"id": "out", "kind": "output", "config": {"name": "answer"}}],
        "edges": [{"id": "e1", "source": "q", "target": "ask"}, {"id": "e2", "source": "ask", "target": "out"}]}
    data.update(changes)
    return graphflow.load_graph(data)


def test_the_same_graph_has_no_changes():
    assert diff_graphs(spec(), spec()).empty


def test_a_changed_config_key_and_policy_field_are_one_change_each():
    after = spec()
    nodes = [n.model_dump() for n in after.nodes]
    nodes[1]["config"]["model"] = "m2"
    nodes[1]["config"]["temperature"] = 0.5
    nodes[1]["retry"]["max_attempts"] = 5
    nodes[1]["position"] = {"x": 10, "y": 20}
    diff = diff_graphs(spec(), spec(nodes=nodes))
    assert [(n.id, n.status, n.title) for n in diff.nodes] == [("ask", "changed", "llm")]
    assert diff.nodes[0].changes == (
        Change("config.model", "m1", "m2"), Change("config.temperature", ABSENT, 0.5),
        Change("retry.max_attempts", 3, 5), Change("position", ABSENT, {"x": 10.0, "y": 20.0}))
    assert diff.edges == () and diff.graph == ()


def test_added_removed_nodes_edges_and_the_graph_fields():
    before = spec()
    data = before.model_dump(mode="json")
    data["name"], data["description"] = "G2", "now with a summary"
    data["nodes"] = [n for n in data["nodes"] if n["id"] != "out"] + [
        {"id": "sum", "kind": "output", "config": {"name": "summary"}}]
    data["edges"] = [data["edges"][0], {"id": "e3", "source": "ask", "target": "sum"}]
    diff = diff_graphs(before, graphflow.load_graph(data))
    assert diff.graph == (Change("name", "G", "G2"), Change("description", ABSENT, "now with a summary"))
    assert [(n.id, n.status) for n in diff.nodes] == [("sum", "added"), ("out", "removed")]
    assert Change("config.name", ABSENT, "summary") in diff.nodes[0].changes
    assert Change("kind", "output", ABSENT) in diff.nodes[1].changes
    assert [(e.id, e.status, e.title) for e in diff.edges] == [
        ("e3", "added", "ask.out -> sum.in"), ("e2", "removed", "ask.out -> out.in")]
    assert (diff.count("added"), diff.count("removed"), diff.count("changed")) == (1, 1, 0)


def test_a_changed_edge_condition():
    edges = [{"id": "e1", "source": "q", "target": "ask"},
             {"id": "e2", "source": "ask", "target": "out", "condition": "len(value) > 3"}]
    diff = diff_graphs(spec(), spec(edges=edges))
    assert [(e.id, e.status, e.changes) for e in diff.edges] == [
        ("e2", "changed", (Change("condition", ABSENT, "len(value) > 3"),))]
