"""Constant values and string templates."""

from __future__ import annotations

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
    """Text with ``{name}`` or ``{a.b}`` placeholders filled from the input object."""


_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)\}")


def render_template(template: str, data: Any) -> str:
    """Fill placeholders by key lookup only (never ``str.format``, which can reach attributes)."""

    def lookup(match: re.Match[str]) -> str:
        value = data
        for key in match.group(1).split("."):
            if isinstance(value, Mapping) and key in value:
                value = value[key]
            elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
                value = value[int(key)]
            else:
                raise KeyError(f"template placeholder {{{match.group(1)}}}: no key {key!r}")
        return str(value)

    return _PLACEHOLDER.sub(lookup, template)


class TemplateNode(NodeKind):
    kind = "template"
    title = "Template"
    description = "Formats text from the fields of its input."
    Config = TemplateConfig
    inputs = (port("in", required=False),)
    outputs = (port("out", "string"),)
    inline = True

    def run_inline(self, config: TemplateConfig, inputs: dict[str, Any], ctx: NodeContext) -> dict[str, Any]:
        return {"out": render_template(config.template, inputs.get("in") or {})}
