"""Transform node: reshape a value with named safe expressions, so no plugin is needed.

There is deliberately no code node: a graph file is data and never carries code that runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import Field, field_validator

from graphflow.errors import GraphflowError
from graphflow.expressions import ExpressionError, parse_expression
from graphflow.nodes.base import NodeConfig, NodeContext, NodeKind, port
from graphflow.nodes.routing import expression_scope

MAX_FIELDS = 200


class TransformError(GraphflowError):
    """A field's expression failed on this input (the message names the field)."""


class TransformConfig(NodeConfig):
    fields: dict[str, str] = Field(
        min_length=1,
        max_length=MAX_FIELDS,
        examples=[{"email": "value.contact.email", "vip": "value.total > 500"}],
    )
    """Output field -> safe expression over the input (``value``, or its keys by name)."""
    merge: bool = False
    """Start from the input object and add or replace these fields, instead of a new object."""

    @field_validator("fields")
    @classmethod
    def _names(cls, fields: dict[str, str]) -> dict[str, str]:
        bad = [name for name in fields if not name.strip() or len(name) > 64]
        if bad:
            raise ValueError(f"field names must be 1-64 characters, not {bad[0]!r}")
        return fields


class TransformNode(NodeKind):
    kind = "transform"
    title = "Transform"
    description = "Builds a new object from its input with named expressions."
    category = "core"
    Config = TransformConfig
    inputs = (port("in", required=False),)
    outputs = (port("out", "object"),)
    inline = True
    reads_node_context = False

    def expressions(self, config: TransformConfig) -> Iterable[tuple[str, str]]:
        return [(f"fields.{name}", text) for name, text in config.fields.items()]

    def run_inline(self, config: TransformConfig, inputs: dict[str, Any], ctx: NodeContext) -> dict[str, Any]:
        value = inputs.get("in")
        if config.merge and value is not None and not isinstance(value, dict):
            raise TransformError(f"merge needs an object input, got {type(value).__name__}")
        scope = expression_scope(value)
        out: dict[str, Any] = dict(value) if config.merge and isinstance(value, dict) else {}
        for name, text in config.fields.items():
            try:
                out[name] = parse_expression(text).evaluate(scope)
            except ExpressionError as exc:
                raise TransformError(f"field {name!r}: {exc}") from exc
        return {"out": out}
