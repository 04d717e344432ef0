"""Waits, then passes its input on: a durable timer.

The due time counts from the node's first start in the run (``ctx.started_at``), so a run
resumed after a crash or a restart waits out only what is left, never the whole delay again.
A short wait (up to ``hold`` seconds) is slept in the run's loop on the run's clock (tests
do not sleep); a longer one suspends the run (``graphflow.waits``): nothing is held while it
waits, and whichever process holds the run when the timer falls due continues it, once.
A run that cannot wait (a bare ``Runner``, no store) sleeps the whole delay.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from graphflow.nodes.base import NodeConfig, NodeContext, NodeKind, port
from graphflow.waits import Wait

MAX_DELAY = 366 * 86_400.0


class DelayConfig(NodeConfig):
    seconds: float = Field(default=1.0, ge=0, le=MAX_DELAY)
    """How long to wait (up to a year)."""
    hold: float = Field(default=60.0, ge=0, le=3600)
    """Waits up to this many seconds are slept in the running process; longer ones suspend the
    run (status waiting) until the timer falls due."""


class DelayNode(NodeKind):
    kind = "delay"
    title = "Delay"
    description = "Waits a number of seconds (durably: a restart does not start it again), then passes its input on."
    Config = DelayConfig
    inputs = (port("in", required=False),)

    async def run(self, config: DelayConfig, inputs: dict[str, Any], ctx: NodeContext) -> dict[str, Any] | Wait:
        if ctx.wake is not None:  # the timer fired
            return {"out": inputs.get("in")}
        due = ctx.started_at + config.seconds
        left = due - ctx.clock.time()
        if left > config.hold and ctx.can_wait:
            return Wait("timer", due_at=due)
        if left > 0:
            await ctx.clock.sleep(left)
        return {"out": inputs.get("in")}
