"""The template node: {value} for the whole input, {name}/{input.name} for its fields, {inputs.NAME}
for the run's inputs, by key lookup only."""

from __future__ import annotations

import pytest
from graphs import edge, graph, node

import graphflow
from graphflow.nodes.constant import render_template


def run(template: str, question, input_type: str = "string", lang: str = "en"):
    spec = graph(node("q", "input", name="question", type=input_type),
                 node("lang", "input", name="lang"),
                 node("t", "template", template=template), node("o", "output", name="o"),
                 node("l", "output", name="lang_out"), edge("q", "t"), edge("t", "o"), edge("lang", "l"))
    return graphflow.run_sync(spec, {"question": question, "lang": lang})


def test_a_plain_string_input_is_value():
    result = run("Q: {value} ({inputs.lang})", "Why is the sky blue?")
    assert result.ok, result.error
    assert result.outputs["o"] == "Q: Why is the sky blue? (en)"


def test_object_fields_by_name_or_through_input():
    result = run("{name} <{input.contact.email}> {value.tags.1}", {"name": "Ana", "contact": {"email": "a@x"},
                                                                   "tags": ["x", "vip"]}, "object")
    assert result.outputs["o"] == "Ana <a@x> vip"


def test_a_field_of_a_string_input_says_to_use_value():
    result = run("Q: {question}", "hi")
    assert result.status == "failed"
    assert "the input is a string, not an object; use {value}" in (result.error or "")


def test_non_strings_are_json_and_a_field_named_value_keeps_its_meaning():
    assert render_template("{value}", {"a": [1, None, True]}) == '{"a": [1, null, true]}'
    assert render_template("{value}", {"value": 3}) == "3"  # the input's own field 'value'
    assert render_template("{inputs.n}", None, {"n": 5}) == "5"
    with pytest.raises(KeyError, match="no key 'missing'"):
        render_template("{inputs.missing}", None, {})


def test_attribute_access_is_impossible():
    with pytest.raises(KeyError):
        render_template("{value.__class__}", "s")
