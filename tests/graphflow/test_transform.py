"""The transform node: named safe expressions reshape a value without a plugin."""

from __future__ import annotations

import pytest
from graphs import edge, graph, node

import graphflow
from graphflow.errors import GraphValidationError


def transform_graph(input_type: str = "object", **config):
    return graph(node("in", "input", name="order", type=input_type), node("t", "transform", **config),
                 node("o", "output", name="o"), edge("in", "t"), edge("t", "o"))


ORDER = {"contact": {"email": "ana@example.com"}, "total": 720, "items": [3, 4]}


def test_fields_are_built_from_the_input():
    spec = transform_graph(fields={"email": "value.contact.email", "vip": "value.total > 500",
                                   "count": "len(items)", "label": "upper(contact.email)"})
    result = graphflow.run_sync(spec, {"order": ORDER})
    assert result.ok, result.error
    assert result.outputs["o"] == {"email": "ana@example.com", "vip": True, "count": 2, "label": "ANA@EXAMPLE.COM"}


def test_merge_keeps_the_input_and_replaces_named_fields():
    spec = transform_graph(fields={"total": "total * 2", "vip": "total > 500"}, merge=True)
    result = graphflow.run_sync(spec, {"order": ORDER})
    assert result.outputs["o"] == {**ORDER, "total": 1440, "vip": True}


def test_merge_refuses_a_non_object_input():
    spec = transform_graph("string", fields={"n": "len(value)"}, merge=True)
    result = graphflow.run_sync(spec, {"order": "abc"})
    assert result.status == "failed"
    assert "merge needs an object input, got str" in (result.error or "")


def test_a_field_that_fails_names_the_field_and_the_expression():
    spec = transform_graph(fields={"ok": "total", "zip": "value.address.zip"})
    result = graphflow.run_sync(spec, {"order": ORDER})
    assert result.status == "failed"
    assert result.failed_node == "t"
    assert "field 'zip'" in (result.error or "")
    assert "value.address.zip" in (result.error or "")


def test_a_bad_expression_is_refused_at_validation_with_its_field():
    with pytest.raises(GraphValidationError) as info:
        graphflow.validate_graph(transform_graph(fields={"a": "total", "b": "__import__('os')"}))
    problem = next(p for p in info.value.problems if p.code == "bad_expression")
    assert problem.node_id == "t"
    assert problem.path == "config.fields.b"


def test_an_empty_field_set_is_refused():
    with pytest.raises(GraphValidationError) as info:
        graphflow.validate_graph(transform_graph(fields={}))
    assert any(p.path == "config.fields" for p in info.value.problems)


def test_expression_limits_apply_at_run_time():
    spec = transform_graph(fields={"big": "items * 1000000"})
    result = graphflow.run_sync(spec, {"order": ORDER})
    assert result.status == "failed"
    assert "field 'big'" in (result.error or "")
    assert "limit" in (result.error or "")


def test_there_is_no_code_node():
    kinds = graphflow.default_registry(installed=False).kinds
    assert "transform" in kinds
    assert not {"code", "python", "script", "exec"} & set(kinds)
