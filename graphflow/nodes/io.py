"""Graph inputs and outputs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from graphflow.inputs import is_of_type
from graphflow.model import PortType
from graphflow.nodes.base import NodeConfig, NodeContext, NodeKind, port

if TYPE_CHECKING:
    from graphflow.registry import Registry


class InputConfig(NodeConfig):
    name: str
    """The run input this node reads (``--input name=value``)."""
    type: PortType = "any"
    required: bool = True
    """Must be given. An input with a ``default`` is optional unless ``required`` is set true explicitly."""
    default: Any = None
    """Used when the input is not given and not required."""
    example: Any = None
    """A sample value: prefills the canvas's run form; ``graphflow run --example`` uses it for inputs not given."""
    description: str = ""

    @property
    def is_required(self) -> bool:
        """What the run checks: a ``default`` makes the input optional unless ``required`` was
        written into the config (``model_fields_set``), so ``{"default": 3}`` alone is enough."""
        if self.default is not None and "required" not in self.model_fields_set:
            return False
        return self.required


class InputNode(NodeKind):
    kind = "input"
    title = "Input"
    description = "A value given when the run starts."
    category = "io"
    Config = InputConfig
    inline = True
    reads_node_context = False
    can_retry = False

    def output_ports(self, config: InputConfig) -> tuple:
        return (port("out", config.type),)

    def check(self, config: InputConfig, registry: Registry) -> list[tuple[str, str]]:
        return [("invalid_config", f"config.{field}: {value!r} is not of type {config.type!r}")
                for field, value in (("default", config.default), ("example", config.example))
                if value is not None and not is_of_type(value, config.type)]

    def run_inline(self, config: InputConfig, inputs: dict[str, Any], ctx: NodeContext) -> dict[str, Any]:
        return {"out": ctx.run_inputs.get(config.name, config.default)}


class OutputConfig(NodeConfig):
    name: str
    """The key of this value in the run's outputs."""


class OutputNode(NodeKind):
    kind = "output"
    title = "Output"
    description = "Publishes its input as one of the run's outputs."
    category = "io"
    Config = OutputConfig
    inputs = (port("in"),)
    outputs = ()
    inline = True
    reads_node_context = False
    can_retry = False

    def run_inline(self, config: OutputConfig, inputs: dict[str, Any], ctx: NodeContext) -> dict[str, Any]:
        # Not a port: published into the run's outputs by ``run_output``.
        return {"value": inputs.get("in")}

    def run_output(self, config: OutputConfig, output: dict[str, Any]) -> tuple[str, Any] | None:
        return config.name, output.get("value")
