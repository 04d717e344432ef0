"""Early termination: when this node runs, the run ends with its status and reason,
cancelling whatever is still running. Put it behind a condition to stop on a check."""

from __future__ import annotations

from typing import Any, Literal

from graphflow.nodes.base import NodeConfig, NodeContext, NodeKind, port


class StopConfig(NodeConfig):
    status: Literal["succeeded", "failed"] = "succeeded"
    reason: str = "stopped early"
    output_name: str | None = None
    """Also publish the input as this run output."""


class StopNode(NodeKind):
    kind = "stop"
    title = "Stop run"
    description = "Ends the run early with a status and a reason."
    category = "routing"
    Config = StopConfig
    inputs = (port("in", required=False),)
    outputs = ()
    inline = True
    reads_node_context = False
    ends_run = True

    def run_inline(self, config: StopConfig, inputs: dict[str, Any], ctx: NodeContext) -> dict[str, Any]:
        return {"stop": {"status": config.status, "reason": config.reason}, "value": inputs.get("in")}

    def run_output(self, config: StopConfig, output: dict[str, Any]) -> tuple[str, Any] | None:
        return (config.output_name, output.get("value")) if config.output_name else None
