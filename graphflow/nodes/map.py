"""Map-reduce: apply a registered function to every item of a list, then reduce.

A sliding window keeps at most ``concurrency`` items in flight (a worker pool, not
batches that wait for their slowest item). ``fail_fast`` stops and cancels on the first
item that fails for good; otherwise failures are collected per item. Results keep the
input order. Progress goes to the run as aggregated ``map_progress`` events.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio
from pydantic import Field, model_validator

from graphflow.errors import GraphValidationError, NodeError
from graphflow.nodes.base import NodeConfig, NodeContext, NodeKind, port
from graphflow.nodes.function import call_function
from graphflow.policies import RetryPolicy
from graphflow.resilience import backoff_delay, should_retry

if TYPE_CHECKING:
    from graphflow.registry import FunctionEntry, Registry


class MapConfig(NodeConfig):
    function: str | None = Field(default=None, min_length=1)
    """Registered function applied to each item: ``fn(item, **args)``."""
    graph: dict[str, Any] | None = None
    """Or a sub-graph (graph JSON, validated with the parent) run once per item: its one
    input node receives the item; the result is the value of its output node, or an object
    of its outputs when it has several names."""
    args: dict[str, Any] = Field(default_factory=dict)
    reduce: str | None = None
    """Registered function given the list of successful results, in input order."""
    concurrency: int = Field(default=8, ge=1, le=1024)
    """Items in flight at most."""
    fail_fast: bool = False
    """Stop and cancel the rest on the first item failure; otherwise collect errors."""
    item_retry: RetryPolicy | None = None
    """Retries for each item, with backoff."""

    @model_validator(mode="after")
    def _one_target(self) -> MapConfig:
        if (self.function is None) == (self.graph is None):
            raise ValueError("give either 'function' or 'graph' (a sub-graph), not both or neither")
        return self


class MapItemFailed(NodeError):
    pass


@dataclass(frozen=True, slots=True)
class BoundMap:
    config: MapConfig
    fn: FunctionEntry | None
    reduce: FunctionEntry | None
    graph: Any = None
    """The compiled sub-graph, when mapping one."""

    async def call(self, item: Any, ctx: NodeContext) -> Any:
        if self.fn is not None:
            return await call_function(self.fn, item, self.config.args, ctx)
        from graphflow.runner import Runner  # the runner imports node kinds: import it late

        (entry,) = self.graph.input_nodes()
        result = await Runner(self.graph, clock=ctx.clock, rng=ctx.rng).run({entry.config.name: item})
        if not result.ok:
            raise MapItemFailed(f"sub-graph {result.status}: {result.error}")
        names = {n.config.name for n in self.graph.nodes.values() if n.spec.kind == "output"}
        return result.outputs.get(next(iter(names))) if len(names) == 1 else result.outputs


def _compile_subgraph(data: dict[str, Any], registry: Registry) -> Any:
    from graphflow.api import validate_graph

    compiled = validate_graph(data, registry)
    if len(compiled.input_nodes()) != 1:
        raise ValueError(f"a mapped sub-graph needs exactly one input node, it has {len(compiled.input_nodes())}")
    return compiled


class MapNode(NodeKind):
    kind = "map"
    title = "Map-reduce"
    description = "Applies a function or a sub-graph to every item with a concurrency cap, then reduces."
    category = "patterns"
    Config = MapConfig
    inputs = (port("in", "array"),)
    outputs = (port("out"), port("errors", "array", description="per-item failures (collect mode)"))

    def check(self, config: MapConfig, registry: Registry) -> list[tuple[str, str]]:
        problems = [("unknown_function", f"unknown function {name!r} (register it in a plugin module)")
                    for name in (config.function, config.reduce) if name and name not in registry.functions]
        if config.graph is not None:
            try:
                _compile_subgraph(config.graph, registry)
            except GraphValidationError as exc:
                problems += [("invalid_config", f"config.graph: {p}") for p in exc.problems]
            except ValueError as exc:
                problems.append(("invalid_config", f"config.graph: {exc}"))
        return problems

    def prepare(self, config: MapConfig, registry: Registry) -> BoundMap:
        reduce = registry.functions[config.reduce] if config.reduce else None
        if config.graph is not None:
            return BoundMap(config, None, reduce, _compile_subgraph(config.graph, registry))
        assert config.function is not None
        return BoundMap(config, registry.functions[config.function], reduce)

    async def run(self, bound: BoundMap, inputs: dict[str, Any], ctx: NodeContext) -> dict[str, Any]:
        items = inputs.get("in")
        if not isinstance(items, list):
            raise TypeError(f"map needs a list, got {type(items).__name__}")
        cfg = bound.config
        total = len(items)
        results: list[Any] = [None] * total
        ok = [False] * total
        errors: list[dict[str, Any]] = []
        next_index = 0
        done = 0

        async def item(index: int) -> None:
            attempt = 1
            while True:
                try:
                    results[index] = await bound.call(items[index], ctx)
                    ok[index] = True
                    return
                except Exception as exc:
                    policy = cfg.item_retry
                    if policy is None or not should_retry(policy, exc, attempt):
                        errors.append({"index": index, "error_type": type(exc).__name__, "message": str(exc)})
                        if cfg.fail_fast:
                            raise MapItemFailed(f"item {index} failed: {type(exc).__name__}: {exc}") from exc
                        return
                    await ctx.clock.sleep(backoff_delay(policy, attempt, ctx.rng))
                    attempt += 1

        async def worker() -> None:
            nonlocal next_index, done
            while next_index < total:
                index = next_index
                next_index += 1
                await item(index)
                done += 1
                ctx.progress(done - len(errors), len(errors), total)

        ctx.progress(0, 0, total)
        try:
            async with anyio.create_task_group() as tg:
                for _ in range(min(cfg.concurrency, total)):
                    tg.start_soon(worker)
        except ExceptionGroup as group:  # fail fast: report the item, not the task group
            first = group.exceptions[0]
            raise (first if isinstance(first, MapItemFailed) else group) from None
        kept = [r for r, good in zip(results, ok, strict=True) if good]
        out = await call_function(bound.reduce, kept, {}, ctx) if bound.reduce else results
        errors.sort(key=lambda e: e["index"])
        return {"out": out, "errors": errors}
