"""Port types from a function's annotations (what ``graphflow functions`` shows)."""

from __future__ import annotations

from typing import Any, Optional, TypedDict

import pytest
from pydantic import BaseModel

from graphflow.signatures import port_type, ports_of, signature_text


class Order(BaseModel):
    id: str


class Point(TypedDict):
    x: int


@pytest.mark.parametrize(("annotation", "expected"), [
    (str, "string"), (int, "integer"), (float, "number"), (bool, "boolean"), (list, "array"),
    (list[int], "array"), (dict, "object"), (dict[str, Any], "object"), (Order, "object"), (Point, "object"),
    (Optional[int], "integer"),  # noqa: UP045 (the old spelling is what is tested)
    (str | None, "string"), (int | str, "any"), (Any, "any"), (object, "any"),
])
def test_port_type_of_each_annotation_form(annotation: Any, expected: str) -> None:
    assert port_type(annotation) == expected


def test_ports_of_a_function_skip_ctx_and_unannotated_stay_any() -> None:
    def join(text: str, times: int, sep, *rest: str, ctx: Any = None, **extra: Any) -> str:
        return sep.join([text] * times)

    assert ports_of(join) == ([("text", "string"), ("times", "integer"), ("sep", "any")], "string")
    assert signature_text(join) == "(text: string, times: integer, sep: any) -> string"
    assert signature_text(lambda value: value) == "(value: any) -> any"
