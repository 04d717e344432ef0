"""Constant values and string templates."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from pydantic import Field

from graphflow.nodes.base import NodeConfig, NodeContext, NodeKind, port


class ConstantConfig(NodeConfig):
    value: Any = None


class ConstantNode(NodeKind):
    kind = "constant"
    title = "Constant"
    description = "Emits a fixed JSON value."
    Config = ConstantConfig
    inline = True

    def run_inline(self, config: ConstantConfig, inputs: dict[str, Any], ctx: NodeContext) -> dict[str, Any]:
        return {"out": config.value}


class TemplateConfig(NodeConfig):
    template: str = Field(json_schema_extra={"format": "multiline"})
    """Text with placeholders: ``{value}`` (the whole input), ``{name}`` or ``{a.b}`` (fields of an
    object input; also ``{input.name}``) and ``{inputs.NAME}`` (the run's inputs)."""


_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)\}")
_ROOTS = ("value", "input", "inputs")


def render_template(template: str, data: Any, run_inputs: Mapping[str, Any] | None = None) -> str:
    """Fill placeholders by key lookup only (never ``str.format``, which can reach attributes).
    A field of the input named ``value``, ``input`` or ``inputs`` wins over the root of that name,
    so templates written before the roots existed mean what they meant."""

    def lookup(match: re.Match[str]) -> str:
        path = match.group(1).split(".")
        if path[0] in _ROOTS and not (isinstance(data, Mapping) and path[0] in data):
            value: Any = (run_inputs or {}) if path[0] == "inputs" else data
            keys = path[1:]
        elif isinstance(data, Mapping) or data is None:
            value, keys = data or {}, path
        else:
            raise KeyError(f"template placeholder {{{match.group(1)}}}: the input is {_kind(data)}, not an object; "
                           "use {value} for the whole input")
        for key in keys:
            if isinstance(value, Mapping) and key in value:
                value = value[key]
            elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
                value = value[int(key)]
            else:
                raise KeyError(f"template placeholder {{{match.group(1)}}}: no key {key!r}")
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)

    return _PLACEHOLDER.sub(lookup, template)


def _kind(value: Any) -> str:
    return {str: "a string", bool: "a boolean", int: "a number", float: "a number", list: "a list"}.get(
        type(value), type(value).__name__)


class TemplateNode(NodeKind):
    kind = "template"
    title = "Template"
    description = "Formats text from the fields of its input."
    Config = TemplateConfig
    inputs = (port("in", required=False),)
    outputs = (port("out", "string"),)
    inline = True

    def run_inline(self, config: TemplateConfig, inputs: dict[str, Any], ctx: NodeContext) -> dict[str, Any]:
        return {"out": render_template(config.template, inputs.get("in"), ctx.run_inputs)}
