"""Wiring a classifier's label into a router fills the router's routes from the labels."""

from __future__ import annotations

from graphflow.ui.pages.editor import routers_to_fill


def graph(router_config, *extra_edges):
    return {"nodes": [{"id": "c", "kind": "classify", "config": {"labels": ["refund", "order status"]}},
                      {"id": "r", "kind": "router", "config": router_config},
                      {"id": "o", "kind": "output", "config": {"name": "o"}}],
            "edges": [{"id": "e", "source": "c", "source_port": "label", "target": "r", "target_port": "in"},
                      *extra_edges]}


def test_a_fresh_router_gets_a_route_per_label_and_keeps_its_other_settings():
    filled = routers_to_fill(graph({"routes": [{"port": "a", "when": "True"}], "default": "other"}))
    assert filled == [("r", {"default": "other", "routes": [
        {"port": "refund", "when": 'value == "refund"'}, {"port": "order_status", "when": 'value == "order status"'}]})]


def test_a_router_whose_routes_are_wired_is_left_alone():
    wired = {"id": "w", "source": "r", "source_port": "a", "target": "o", "target_port": "in"}
    assert routers_to_fill(graph({"routes": [{"port": "a", "when": "True"}]}, wired)) == []


def test_other_ports_and_already_filled_routers_are_left_alone():
    done = routers_to_fill(graph({"routes": [{"port": "x", "when": "y"}]}))[0][1]
    assert routers_to_fill(graph(done)) == []
    usage = graph({"routes": [{"port": "a", "when": "True"}]})
    usage["edges"][0]["source_port"] = "confidence"
    assert routers_to_fill(usage) == []
