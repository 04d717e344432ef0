"""The template node: {value} for the whole input, {name}/{input.name} for its fields, {inputs.NAME}
for the run's inputs, by key lookup only."""

from __future__ import annotations

import pytest
from graphs import edge, graph, node

import graphflow
from graphflow.model import PortSpec
from graphflow.nodes.template_text import render_template
from graphflow.nodes.template_text import template_problems as check_template


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


def test_a_field_of_a_string_input_is_refused_before_the_run_and_says_to_use_value():
    with pytest.raises(graphflow.GraphValidationError) as caught:
        run("Q: {question}", "hi")
    (problem,) = caught.value.problems
    assert (problem.code, problem.node_id, problem.path) == ("bad_template", "t", "config.template")
    assert "placeholder {question}: the input (out of type string) is a string, not an object; use {value}" \
        in problem.message
    with pytest.raises(KeyError, match="the input is a string, not an object; use {value}"):
        render_template("Q: {question}", "hi")  # an input of type any is only known at run time


def template_problems(template: str, fed: PortSpec | None, run_inputs=frozenset({"lang", "question"})):
    return [m.partition(": ")[2] for m in check_template(template, fed, run_inputs)]


def test_placeholders_are_checked_against_the_inputs_known_type():
    string, listed = PortSpec(name="out", type="string"), PortSpec(name="out", type="array")
    assert template_problems("{value} {input} {inputs.lang} {inputs}", string) == []
    assert template_problems("{value.0} {input.2}", listed) == []
    assert template_problems("{inputs.missing}", string) == [
        "placeholder {inputs.missing}: the graph has no input 'missing' (has: lang, question)"]
    assert template_problems("{name}", None) == [
        "placeholder {name}: the template's input is not connected; use {inputs.NAME} for a run input"]
    assert template_problems("{value.x} {value.x}", PortSpec(name="n", type="number")) == [
        "placeholder {value.x}: the input (n of type number) is a number, not an object; use {value} for the "
        "whole input"]


def test_an_objects_fields_are_checked_only_when_its_schema_lists_them():
    schema = {"type": "object", "properties": {"name": {}, "value": {}}}
    known = PortSpec(name="out", type="object", json_schema=schema)
    assert template_problems("{name} {value.x} {input.name}", known) == []  # its own field 'value'
    assert template_problems("{nmae}", known) == ["placeholder {nmae}: the input has no field 'nmae' (has: name, "
                                                  "value)"]
    assert template_problems("{input.nmae}", known) == ["placeholder {input.nmae}: the input has no field 'nmae' "
                                                        "(has: name, value)"]
    open_schema = {**schema, "additionalProperties": True}
    for port in (PortSpec(name="out", type="object"), PortSpec(name="out", type="object", json_schema=open_schema),
                 PortSpec(name="out")):
        assert template_problems("{anything.at.all}", port) == []


def test_non_strings_are_json_and_a_field_named_value_keeps_its_meaning():
    assert render_template("{value}", {"a": [1, None, True]}) == '{"a": [1, null, true]}'
    assert render_template("{value}", {"value": 3}) == "3"  # the input's own field 'value'
    assert render_template("{inputs.n}", None, {"n": 5}) == "5"
    with pytest.raises(KeyError, match="no key 'missing'"):
        render_template("{inputs.missing}", None, {})


def test_attribute_access_is_impossible():
    with pytest.raises(KeyError):
        render_template("{value.__class__}", "s")
