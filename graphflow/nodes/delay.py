"""Waits, then passes its input on (uses the run's clock, so tests do not sleep)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from graphflow.nodes.base import NodeConfig, NodeContext, NodeKind, port


class DelayConfig(NodeConfig):
    seconds: float = Field(default=1.0, ge=0, le=86_400)


class DelayNode(NodeKind):
    kind = "delay"
    title = "Delay"
    description = "Waits a number of seconds, then passes its input on."
    Config = DelayConfig
    inputs = (port("in", required=False),)

    async def run(self, config: DelayConfig, inputs: dict[str, Any], ctx: NodeContext) -> dict[str, Any]:
        await ctx.clock.sleep(config.seconds)
        return {"out": inputs.get("in")}
