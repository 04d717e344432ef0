"""Constant values and string templates."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field

from graphflow.model import PortSpec
from graphflow.nodes.base import NodeConfig, NodeContext, NodeKind, port
from graphflow.nodes.template_text import render_template, template_problems


class ConstantConfig(NodeConfig):
    value: Any = None


class ConstantNode(NodeKind):
    kind = "constant"
    title = "Constant"
    description = "Emits a fixed JSON value."
    Config = ConstantConfig
    inline = True
    reads_node_context = False

    def run_inline(self, config: ConstantConfig, inputs: dict[str, Any], ctx: NodeContext) -> dict[str, Any]:
        return {"out": config.value}


class TemplateConfig(NodeConfig):
    template: str = Field(json_schema_extra={"format": "multiline"})
    """Text with placeholders: ``{value}`` (the whole input), ``{name}`` or ``{a.b}`` (fields of an
    object input; also ``{input.name}``) and ``{inputs.NAME}`` (the run's inputs)."""


class TemplateNode(NodeKind):
    kind = "template"
    title = "Template"
    description = "Formats text from the fields of its input."
    Config = TemplateConfig
    inputs = (port("in", required=False),)
    outputs = (port("out", "string"),)
    inline = True
    reads_node_context = False

    def run_inline(self, config: TemplateConfig, inputs: dict[str, Any], ctx: NodeContext) -> dict[str, Any]:
        return {"out": render_template(config.template, inputs.get("in"), ctx.run_inputs)}

    def check_wired(self, config: TemplateConfig, fed: Mapping[str, PortSpec],
                    run_inputs: frozenset[str]) -> list[tuple[str, str]]:
        return [("bad_template", why) for why in template_problems(config.template, fed.get("in"), run_inputs)]
