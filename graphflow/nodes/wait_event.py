"""Waits for a named event sent to its run, then outputs the event's data.

The run suspends while it waits (``graphflow.waits``): nothing is held in memory, and the
event may come minutes or months later, to any process (``graphflow send RUN_ID EVENT``,
``Workspace.send``, the canvas). With a timeout, the wait ends when it falls due: the node
fails with ``WaitTimedOut`` (an error edge can take an escalation path) or, with
``on_timeout: continue``, outputs ``timeout_value``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from graphflow.errors import NodeError
from graphflow.nodes.base import NodeConfig, NodeContext, NodeKind, port
from graphflow.nodes.delay import MAX_DELAY
from graphflow.waits import Wait


class WaitTimedOut(NodeError):
    """The event did not come in time."""


class WaitEventConfig(NodeConfig):
    event: str = Field(default="continue", min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$")
    """The event's name (letters, digits, ``_ . : -``)."""
    timeout: float | None = Field(default=None, gt=0, le=MAX_DELAY)
    """Seconds from the node's first start until the wait ends without the event; none: never."""
    on_timeout: Literal["fail", "continue"] = "fail"
    timeout_value: Any = None
    """What the node outputs when it times out with ``on_timeout: continue``."""


class WaitEventNode(NodeKind):
    kind = "wait_event"
    title = "Wait for event"
    description = "Suspends the run until a named event is sent to it (or a timeout), then outputs the event's data."
    category = "routing"
    Config = WaitEventConfig
    inputs = (port("in", required=False),)

    def may_wait(self, config: WaitEventConfig) -> bool:
        return True

    async def run(self, config: WaitEventConfig, inputs: dict[str, Any], ctx: NodeContext) -> dict[str, Any] | Wait:
        wake = ctx.wake
        if wake is not None and wake.kind == "timer":
            if config.on_timeout == "continue":
                return {"out": config.timeout_value}
            raise WaitTimedOut(f"no {config.event!r} event within {config.timeout:g} s", node_id=ctx.node_id)
        if wake is not None:
            data: Any = wake.data.get("data") if isinstance(wake.data, dict) else None
            return {"out": data}
        due = ctx.started_at + config.timeout if config.timeout is not None else None
        return Wait("event", key=config.event, due_at=due)
