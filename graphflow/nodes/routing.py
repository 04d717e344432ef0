"""Condition and router nodes: only the chosen output port is emitted, so only the
edges leaving it are taken and the other branches are skipped."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import Field, field_validator

from graphflow.expressions import parse_expression
from graphflow.model import PortSpec
from graphflow.nodes.base import NodeConfig, NodeContext, NodeKind, port


def expression_scope(value: Any) -> dict[str, Any]:
    """Names an expression sees: ``value``, and each key of an object value."""
    scope: dict[str, Any] = dict(value) if isinstance(value, dict) else {}
    scope["value"] = value
    return scope


class ConditionConfig(NodeConfig):
    expression: str
    """Safe expression over the input, e.g. ``score >= 0.8``."""


class ConditionNode(NodeKind):
    kind = "condition"
    title = "Condition"
    description = "Sends its input to 'true' or 'false'."
    category = "routing"
    Config = ConditionConfig
    inputs = (port("in"),)
    outputs = (port("true"), port("false"))
    inline = True
    reads_node_context = False

    def expressions(self, config: ConditionConfig) -> Iterable[tuple[str, str]]:
        return [("expression", config.expression)]

    def run_inline(self, config: ConditionConfig, inputs: dict[str, Any], ctx: NodeContext) -> dict[str, Any]:
        value = inputs.get("in")
        chosen = "true" if parse_expression(config.expression).evaluate(expression_scope(value)) else "false"
        return {chosen: value}


class Route(NodeConfig):
    port: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
    when: str


class RouterConfig(NodeConfig):
    routes: list[Route] = Field(min_length=1)
    """Checked in order; the first route whose ``when`` is true is taken."""
    default: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
    """Port taken when no route matches; without one, nothing downstream runs."""

    @field_validator("routes")
    @classmethod
    def _unique_ports(cls, routes: list[Route]) -> list[Route]:
        seen = [r.port for r in routes]
        dupes = sorted({p for p in seen if seen.count(p) > 1})
        if dupes:
            raise ValueError(f"route ports must be unique, repeated: {', '.join(dupes)}")
        return routes


class RouterNode(NodeKind):
    kind = "router"
    title = "Router"
    description = "Routes its input to the first branch whose condition holds."
    category = "routing"
    Config = RouterConfig
    inputs = (port("in"),)
    outputs = ()
    inline = True
    reads_node_context = False

    def output_ports(self, config: RouterConfig) -> tuple[PortSpec, ...]:
        names = [r.port for r in config.routes]
        if config.default and config.default not in names:
            names.append(config.default)
        return tuple(port(name) for name in names)

    def expressions(self, config: RouterConfig) -> Iterable[tuple[str, str]]:
        return [(f"routes[{i}].when", r.when) for i, r in enumerate(config.routes)]

    def run_inline(self, config: RouterConfig, inputs: dict[str, Any], ctx: NodeContext) -> dict[str, Any]:
        value = inputs.get("in")
        scope = expression_scope(value)
        for route in config.routes:
            if parse_expression(route.when).evaluate(scope):
                return {route.port: value}
        return {config.default: value} if config.default else {}
