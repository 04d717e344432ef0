"""Calls a Python function that code registered by name. A graph names the
function; it never carries code."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import Field

from graphflow.errors import NodeRaisedBaseException
from graphflow.nodes.base import NodeConfig, NodeContext, NodeKind, port
from graphflow.threads import run_in_thread

if TYPE_CHECKING:
    from graphflow.registry import FunctionEntry, Registry


class FunctionConfig(NodeConfig):
    function: str = Field(min_length=1)
    """Registered name, e.g. ``samples.chain.extract_email``."""
    args: dict[str, Any] = Field(default_factory=dict)
    """Extra keyword arguments passed to the function."""


@dataclass(frozen=True, slots=True)
class BoundFunction:
    config: FunctionConfig
    entry: FunctionEntry


class FunctionNode(NodeKind):
    kind = "function"
    title = "Python function"
    description = "Calls a registered Python function with its input."
    Config = FunctionConfig
    inputs = (port("in", required=False),)

    def check(self, config: FunctionConfig, registry: Registry) -> list[tuple[str, str]]:
        if config.function not in registry.functions:
            return [("unknown_function", f"unknown function {config.function!r} (register it in a plugin module)")]
        return []

    def prepare(self, config: FunctionConfig, registry: Registry) -> BoundFunction:
        return BoundFunction(config, registry.functions[config.function])

    def runs_inline(self, runtime: BoundFunction) -> bool:
        # Registered non-blocking: a task would only add cost. Other sync functions go to a thread.
        return not runtime.entry.is_async and not runtime.entry.blocking

    def stops_when_cancelled(self, runtime: BoundFunction) -> bool:
        return runtime.entry.is_async  # a function in a thread runs on after a cancel

    def run_inline(self, config: BoundFunction, inputs: dict[str, Any], ctx: NodeContext) -> dict[str, Any]:
        kwargs = dict(config.config.args)
        if config.entry.wants_ctx:
            kwargs["ctx"] = ctx
        return {"out": config.entry.fn(inputs.get("in"), **kwargs)}

    async def run(self, config: BoundFunction, inputs: dict[str, Any], ctx: NodeContext) -> dict[str, Any]:
        return {"out": await call_function(config.entry, inputs.get("in"), config.config.args, ctx)}


async def call_function(entry: FunctionEntry, value: Any, args: dict[str, Any], ctx: NodeContext) -> Any:
    """``fn(value, **args)``, with ``ctx`` if it asks for it. Sync functions go to a thread,
    the non-blocking ones too when a timeout applies (only a thread can be walked away from)."""
    kwargs = dict(args)
    if entry.wants_ctx:
        kwargs["ctx"] = ctx
    if entry.is_async:
        return await entry.fn(value, **kwargs)
    if entry.blocking or ctx.timeout is not None:
        return await run_in_thread(lambda: contained(entry.fn, value, kwargs), ctx.thread_abandoned)
    return entry.fn(value, **kwargs)


def contained(fn: Any, value: Any, kwargs: dict[str, Any]) -> Any:
    """In the worker thread: a BaseException must not cross back into the event loop as it
    is (a GeneratorExit there breaks the awaiting coroutine), so it becomes a failure here."""
    try:
        return fn(value, **kwargs)
    except Exception:
        raise
    except BaseException as exc:
        raise NodeRaisedBaseException(exc) from None
