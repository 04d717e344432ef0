"""The plain functions behind the settings form, the problem overlay and the run view."""

from __future__ import annotations

import pytest

import graphflow
from graphflow.errors import Problem
from graphflow.policies import RetryPolicy
from graphflow.ui.pages.editor import problems_by_node, same_spec
from graphflow.ui.pages.settings_form import (
    OMIT,
    Field,
    config_fields,
    config_from,
    general_fields,
    parse_value,
    read_node,
    section_fields,
)

REGISTRY = graphflow.default_registry()


def schema(kind: str) -> dict:
    return REGISTRY.kinds[kind].describe()["config_schema"]


def test_fields_follow_the_kind_schema():
    join = {f.name: f for f in config_fields(schema("join"))}
    assert join["strategy"].type == "enum" and join["strategy"].options == ["all", "best_effort", "quorum",
                                                                             "first_success"]
    assert (join["quorum"].type, join["quorum"].nullable) == ("integer", True)
    assert join["order"].type == "words"  # a list of branch names: comma separated
    inp = {f.name: f for f in config_fields(schema("input"))}
    assert (inp["name"].type, inp["name"].required) == ("string", True)
    assert inp["required"].type == "boolean" and inp["default"].type == "json"
    router = {f.name: f for f in config_fields(schema("router"))}
    assert (router["default"].type, router["default"].nullable) == ("string", True)
    assert router["routes"].type == "json" and router["routes"].required


def test_parse_values():
    number = Field("n", "n", "number")
    assert parse_value(number, 2.5) == 2.5 and parse_value(number, None) is OMIT
    with pytest.raises(ValueError, match="whole number"):
        parse_value(Field("i", "i", "integer"), 2.5)
    assert parse_value(Field("q", "q", "integer", nullable=True), None) is None
    assert parse_value(Field("j", "j", "json"), '{"a": [1]}') == {"a": [1]}
    with pytest.raises(ValueError, match="not JSON"):
        parse_value(Field("j", "j", "json"), "{a")
    assert parse_value(Field("s", "s", "string", nullable=True), "") is None


def test_config_keeps_what_was_there_and_leaves_untouched_defaults_out():
    fields = config_fields(schema("join"))
    raw = {"strategy": "quorum", "quorum": 2, "required": "", "order": "", "mode": "sequential"}
    config, errors = config_from(fields, raw, {"strategy": "all"})
    assert errors == {} and config == {"strategy": "quorum", "quorum": 2}
    config, errors = config_from(fields, {**raw, "quorum": 2.5}, {})
    assert set(errors) == {"quorum"}
    config, _ = config_from(fields, {**raw, "order": "a, b"}, {})
    assert config["order"] == ["a", "b"]


def test_node_options():
    node = {"id": "p", "kind": "function", "config": {}, "retry": {"max_attempts": 3, "jitter": "none"}}
    raw = {"label": "P", "timeout": None, "optional": False, "default_output": "", "retry": True,
           "retry.max_attempts": 4, "retry.base_delay": 0.1, "retry.max_delay": 1, "retry.jitter": "none",
           "retry.retry_on": "ConnectionError, TimeoutError", "breaker": True, "breaker.name": "api",
           "breaker.failure_threshold": 2, "breaker.reset_timeout": 5, "cache": False, "cache.ttl": 60}
    updated, errors = read_node(node, schema("function"), raw)
    assert errors == {}
    assert updated["retry"] == {"max_attempts": 4, "jitter": "none", "base_delay": 0.1, "max_delay": 1,
                                "retry_on": ["ConnectionError", "TimeoutError"]}
    assert updated["breaker"] == {"name": "api", "failure_threshold": 2, "reset_timeout": 5}
    assert "timeout" not in updated and "cache" not in updated and "optional" not in updated
    off, _ = read_node(updated, schema("function"), {**raw, "retry": False, "breaker": False})
    assert "retry" not in off and "breaker" not in off
    graphflow.load_graph({"schema_version": 1, "id": "g", "nodes": [updated]})  # a valid NodeSpec
    fresh = {"id": "d", "kind": "delay", "config": {"seconds": 1.0}}  # as dropped from the palette
    untouched = {"cfg.seconds": 1.0, "retry": False, "breaker": False, "cache": False}
    assert read_node(fresh, schema("delay"), untouched)[0] == fresh


def test_policy_problems_come_from_the_policy_model():
    node = {"id": "p", "kind": "function", "config": {}}
    _, errors = read_node(node, schema("function"), {"breaker": True, "breaker.name": ""})
    assert list(errors) == ["breaker.name"]
    cached, errors = read_node(node, schema("function"), {"cache": True, "cache.ttl": 60})
    assert errors == {} and cached["cache"] == {"enabled": True, "ttl": 60}


def test_defaults_descriptions_and_multiline_come_from_the_schemas():
    retry = {f.name: f for f in section_fields(RetryPolicy)}
    assert retry["max_attempts"].default == RetryPolicy().max_attempts
    assert retry["max_attempts"].description.startswith("Attempts in total")
    assert retry["retry_on"].type == "words"
    template = {f.name: f for f in config_fields(schema("template"))}
    assert template["template"].type == "text" and "placeholders" in template["template"].description
    assert {f.name: f.type for f in general_fields()}["description"] == "text"
    assert not REGISTRY.kinds["input"].describe()["can_retry"] and REGISTRY.kinds["function"].can_retry


def test_problems_land_on_nodes_and_edge_ends():
    graph = {"nodes": [{"id": "a"}, {"id": "b"}], "edges": [{"id": "e", "source": "a", "target": "b"}]}
    problems = [Problem("unknown_port", "no port x", edge_id="e"), Problem("invalid_config", "bad", node_id="a"),
                Problem("cycle", "a loop")]
    assert problems_by_node(graph, problems) == {"a": ["[unknown_port] no port x", "[invalid_config] bad"],
                                                 "b": ["[unknown_port] no port x"]}


def test_same_spec_ignores_dict_shape():
    spec = graphflow.load_graph({"schema_version": 1, "id": "g", "nodes": [{"id": "a", "kind": "constant"}]})
    assert same_spec({"schema_version": 1, "id": "g", "nodes": [{"id": "a", "kind": "constant", "label": ""}]}, spec)
    assert not same_spec({"schema_version": 1, "id": "g"}, spec)
