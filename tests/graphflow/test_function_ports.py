"""A function node's ports come from its function's signature: typed inputs (several of them),
a typed output, pydantic models and TypedDicts checked when wired and when run."""

from __future__ import annotations

from typing import Any, Optional, TypedDict

import pytest
from pydantic import BaseModel

import graphflow
from graphflow.api import validate_graph
from graphflow.errors import GraphValidationError
from graphflow.model import PortSpec
from graphflow.nodes.function import FunctionConfig, FunctionNode
from graphflow.registry import Registry, default_registry
from graphflow.wiring import schema_mismatch, wiring_problem
from tests.graphflow.graphs import edge, fn, graph, node

pytestmark = pytest.mark.anyio


class Order(BaseModel):
    id: str
    total: float


class Invoice(BaseModel):
    number: int


class Point(TypedDict):
    x: int
    y: int


def ports(function: Any, **args: Any) -> tuple[list[tuple[str, str, bool]], list[tuple[str, str]]]:
    registry = Registry()
    registry.register_function("f", function)
    ins, outs = FunctionNode().ports_in(FunctionConfig(function="f", args=args), registry)
    return [(p.name, p.type, p.required) for p in ins], [(p.name, p.type) for p in outs]


def one(annotation: Any) -> str:
    def f(value: Any) -> Any:
        return value

    f.__annotations__ = {"value": annotation, "return": annotation}
    [(name, kind, _)], [(_, out)] = ports(f)
    assert name == "in" and out == kind
    return kind


@pytest.mark.parametrize(("annotation", "expected"), [
    (str, "string"), (int, "integer"), (float, "number"), (bool, "boolean"), (list[str], "array"),
    (dict[str, Any], "object"), (Order, "object"), (Point, "object"),
    (Optional[int], "integer"),  # noqa: UP045 (the old spelling is what is tested)
    (Order | None, "object"), (int | str, "any"), (Any, "any"),
])
def test_a_port_type_from_each_annotation_form(annotation: Any, expected: str) -> None:
    assert one(annotation) == expected


def test_unannotated_parameters_stay_any_and_the_sole_input_is_in() -> None:
    assert ports(lambda value: value) == ([("in", "any", False)], [("out", "any")])


def test_several_parameters_give_several_required_inputs_named_after_them() -> None:
    def price(order: Order, rate: float, ctx: Any = None, note: str = "") -> Invoice:
        return Invoice(number=1)

    assert ports(price) == ([("order", "object", True), ("rate", "number", True)], [("out", "object")])


def test_a_parameter_with_a_default_or_given_in_args_is_a_setting_not_a_port() -> None:
    def step(value: int, add: int = 1) -> int:
        return value + add

    def scale(value: int, factor: int) -> int:
        return value * factor

    assert ports(step) == ([("in", "integer", False)], [("out", "integer")])
    assert ports(scale) == ([("value", "integer", True), ("factor", "integer", True)], [("out", "integer")])
    assert ports(scale, factor=3) == ([("in", "integer", False)], [("out", "integer")])


def test_a_model_port_carries_its_json_schema() -> None:
    registry = Registry()
    registry.register_function("f", lambda order: order)
    registry.register_function("g", take_order)
    ins, outs = FunctionNode().ports_in(FunctionConfig(function="g"), registry)
    assert ins[0].json_schema is not None and ins[0].json_schema["title"] == "Order"
    assert ins[0].json_schema["required"] == ["id", "total"]
    assert outs[0].json_schema is None  # returns dict[str, Any]
    ins, _ = FunctionNode().ports_in(FunctionConfig(function="f"), registry)
    assert ins[0].json_schema is None


def take_order(order: Order) -> dict[str, Any]:
    return {"id": order.id, "doubled": order.total * 2}


def make_order(text: str) -> Order:
    return Order(id=text, total=2.5)


def make_invoice(text: str) -> Invoice:
    return Invoice(number=len(text))


def take_point(point: Point) -> int:
    return point["x"] + point["y"]


def registry_of() -> Registry:
    registry = default_registry(installed=False)
    for f in (take_order, make_order, make_invoice, take_point):
        registry.register_function(f"t.{f.__name__}", f)
    registry.register_function("t.add", add, non_blocking=True)
    return registry


def add(a: int, b: int, ctx: graphflow.NodeContext) -> int:
    return a + b


def two_inputs() -> dict[str, Any]:
    return graph(
        node("a", "input", name="a", type="integer"), node("b", "input", name="b", type="integer"),
        fn("sum", "t.add"), node("out", "output", name="sum"),
        edge("a", "sum", target_port="a"), edge("b", "sum", target_port="b"), edge("sum", "out"),
    )


async def test_a_two_input_function_runs_end_to_end_with_each_ports_value() -> None:
    result = await graphflow.run(two_inputs(), {"a": 2, "b": 40}, registry=registry_of())
    assert result.ok and result.outputs == {"sum": 42}


def test_a_two_input_function_with_an_input_unwired_is_refused() -> None:
    spec = two_inputs()
    spec["edges"] = [e for e in spec["edges"] if e["target_port"] != "b"]
    with pytest.raises(GraphValidationError) as caught:
        validate_graph(spec, registry_of())
    assert caught.value.codes == ["missing_required_input"]
    assert "required input 'b' is not connected" in str(caught.value)


def test_wiring_a_string_into_an_integer_port_is_refused() -> None:
    spec = graph(node("t", "input", name="t", type="string"), fn("make", "t.make_order"), fn("sum", "t.add"),
                 node("out", "output", name="o"),
                 edge("t", "make"), edge("t", "sum", target_port="a"), edge("make", "sum", target_port="b"),
                 edge("sum", "out"))
    with pytest.raises(GraphValidationError) as caught:
        validate_graph(spec, registry_of())
    assert caught.value.codes == ["port_type_mismatch", "port_type_mismatch"]
    assert "t.out is string but sum.a expects integer" in str(caught.value)


def test_wiring_one_model_into_another_is_refused_naming_the_field() -> None:
    spec = graph(node("t", "input", name="t", type="string"), fn("make", "t.make_invoice"),
                 fn("use", "t.take_order"), node("out", "output", name="o"),
                 edge("t", "make"), edge("make", "use"), edge("use", "out"))
    with pytest.raises(GraphValidationError) as caught:
        validate_graph(spec, registry_of())
    assert "make.out gives Invoice but use.in expects Order: field 'id' is missing" in str(caught.value)
    spec["nodes"][1]["config"]["function"] = "t.make_order"
    validate_graph(spec, registry_of())  # the same model fits


async def test_a_model_parameter_gets_the_model_and_a_returned_model_is_stored_as_data() -> None:
    spec = graph(node("t", "input", name="t", type="string"), fn("make", "t.make_order"),
                 fn("use", "t.take_order"), node("made", "output", name="made"), node("out", "output", name="o"),
                 edge("t", "make"), edge("make", "use"), edge("use", "out"), edge("make", "made"))
    result = await graphflow.run(spec, {"t": "A1"}, registry=registry_of())
    assert result.ok, result.error
    assert result.outputs == {"made": {"id": "A1", "total": 2.5}, "o": {"id": "A1", "doubled": 5.0}}


@pytest.mark.parametrize(("value", "where"), [
    ({"id": "A1", "total": "lots"}, "total: Input should be a valid number"),
    ({"total": 3}, "id: Field required"),
])
async def test_a_value_that_does_not_fit_the_model_fails_naming_the_field(value: Any, where: str) -> None:
    spec = graph(node("v", "input", name="v", type="object"), fn("use", "t.take_order"),
                 node("out", "output", name="o"), edge("v", "use"), edge("use", "out"))
    result = await graphflow.run(spec, {"v": value}, registry=registry_of())
    assert result.status == "failed" and result.failed_node == "use"
    assert f"input 'in' does not fit Order: {where}" in str(result.error)


async def test_a_typeddict_parameter_is_validated_too() -> None:
    spec = graph(node("v", "input", name="v", type="object"), fn("use", "t.take_point"),
                 node("out", "output", name="o"), edge("v", "use"), edge("use", "out"))
    assert (await graphflow.run(spec, {"v": {"x": 1, "y": 2}}, registry=registry_of())).outputs == {"o": 3}
    failed = await graphflow.run(spec, {"v": {"x": 1}}, registry=registry_of())
    assert "input 'in' does not fit Point: y: Field required" in str(failed.error)


def test_the_schema_check_one_level_deep() -> None:
    order = Order.model_json_schema()
    assert schema_mismatch(order, order) is None
    assert schema_mismatch({"properties": {"id": {"type": "string"}, "total": {"type": "integer"}}}, order) is None
    assert schema_mismatch({"properties": {"id": {"type": "integer"}, "total": {"type": "number"}}}, order) == (
        "field 'id' is integer, not string")
    plain = PortSpec(name="out", type="object")
    typed = PortSpec(name="in", type="object", json_schema=order)
    assert wiring_problem("a", plain, "b", typed) is None  # checked at run time instead


async def test_a_map_checks_each_item_against_the_functions_model_too() -> None:
    registry = registry_of()
    spec = graph(node("v", "input", name="v", type="array"),
                 node("m", "map", function="t.take_order", fail_fast=False), node("out", "output", name="o"),
                 node("err", "output", name="errors"),
                 edge("v", "m"), edge("m", "out"), edge("m", "err", source_port="errors"))
    result = await graphflow.run(spec, {"v": [{"id": "A", "total": 1}, {"id": "B"}]}, registry=registry)
    assert result.outputs["o"][0] == {"id": "A", "doubled": 2.0}
    [error] = result.outputs["errors"]
    assert error["index"] == 1 and "input 'order' does not fit Order: total: Field required" in error["message"]
