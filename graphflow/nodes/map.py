"""Map-reduce: apply a registered function to every item of a list, then reduce.

A sliding window keeps at most ``concurrency`` items in flight (a worker pool, not
batches that wait for their slowest item). ``fail_fast`` stops and cancels on the first
item that fails for good; otherwise failures are collected per item. Results keep the
input order. Progress goes to the run as aggregated ``map_progress`` events.
"""

from __future__ import annotations

from collections import deque
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
    """An item failed (fail-fast). ``detail`` holds the partial results: the items that
    succeeded before the map stopped, by index, beside the failure."""

    def __init__(self, message: str, detail: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.detail = detail


CHECKPOINT_ITEMS = 256
"""Finished items recorded in one ``map_progress`` event at most; a batch also goes at
least every ``CHECKPOINT_SECONDS``, so a crash loses at most that much work."""
CHECKPOINT_SECONDS = 0.25


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
        (entry,) = self.graph.input_nodes()
        result = await ctx.run_subgraph(self.graph, {entry.config.name: item})
        if not result.ok:
            raise MapItemFailed(f"sub-graph {result.status}: {result.error}")
        names = {n.config.name for n in self.graph.nodes.values() if n.spec.kind == "output"}
        return result.outputs.get(next(iter(names))) if len(names) == 1 else result.outputs


def _compile_subgraph(data: dict[str, Any], registry: Registry) -> Any:
    from graphflow.compile import compile_graph  # compile imports the node kinds: import it late
    from graphflow.validate import spec_from_data

    compiled = compile_graph(spec_from_data(data), registry)
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
        run = _MapRun(bound, items, ctx)
        await run.go()
        kept = [r for r, good in zip(run.results, run.ok, strict=True) if good]
        out = await call_function(bound.reduce, kept, {}, ctx) if bound.reduce else run.results
        run.errors.sort(key=lambda e: e["index"])
        return {"out": out, "errors": run.errors}


class _MapRun:
    """One map over one list: a sliding window of workers, per-item retries and keys, and
    finished items checkpointed in batches through ``ctx.progress``."""

    def __init__(self, bound: BoundMap, items: list[Any], ctx: NodeContext) -> None:
        self.bound, self.items, self.ctx, self.cfg = bound, items, ctx, bound.config
        total = len(items)
        self.results: list[Any] = [None] * total
        self.ok = [False] * total
        for index, result in ctx.recovered_items.items():  # recorded before a crash: not run again
            if 0 <= index < total:
                self.results[index], self.ok[index] = result, True
        self.todo = deque(i for i in range(total) if not self.ok[i])
        self.errors: list[dict[str, Any]] = []
        self.done = total - len(self.todo)
        self.batch: dict[int, Any] = {}
        self.last_flush = ctx.clock.monotonic()

    async def go(self) -> None:
        self.ctx.progress(self.done, 0, len(self.items))
        try:
            async with anyio.create_task_group() as tg:
                for _ in range(min(self.cfg.concurrency, len(self.todo))):
                    tg.start_soon(self.worker)
        except ExceptionGroup as group:  # fail fast: report the item, not the task group
            first = group.exceptions[0]
            if isinstance(first, MapItemFailed):
                self.flush()
                first.detail = {str(i): r for i, (r, good) in enumerate(zip(self.results, self.ok, strict=True))
                                if good}
                raise first from None
            raise
        if self.batch:
            self.flush()

    async def worker(self) -> None:
        while self.todo:
            index = self.todo.popleft()  # in input order
            await self.item(index)
            self.done += 1
            if self.ok[index]:
                self.batch[index] = self.results[index]
            now = self.ctx.clock.monotonic()
            if len(self.batch) >= CHECKPOINT_ITEMS or now - self.last_flush >= CHECKPOINT_SECONDS \
                    or self.done == len(self.items):
                self.flush(now)
            else:
                self.ctx.progress(self.done - len(self.errors), len(self.errors), len(self.items))

    def flush(self, now: float | None = None) -> None:
        batch, self.batch = self.batch, {}
        self.last_flush = self.ctx.clock.monotonic() if now is None else now
        self.ctx.progress(self.done - len(self.errors), len(self.errors), len(self.items), batch or None)

    async def item(self, index: int) -> None:
        ctx, policy, attempt = self.ctx.for_item(index), self.cfg.item_retry, 1
        while True:
            try:
                self.results[index] = await self.bound.call(self.items[index], ctx)
                self.ok[index] = True
                return
            except Exception as exc:
                if policy is None or not should_retry(policy, exc, attempt):
                    self.errors.append({"index": index, "error_type": type(exc).__name__, "message": str(exc)})
                    if self.cfg.fail_fast:
                        raise MapItemFailed(f"item {index} failed: {type(exc).__name__}: {exc}") from exc
                    return
                await self.ctx.clock.sleep(backoff_delay(policy, attempt, self.ctx.rng))
                attempt += 1
            finally:  # every attempt's usage lands on the map node
                self.ctx.report_usage(cost=ctx.cost, tokens=ctx.tokens)
                ctx.cost = ctx.tokens = 0
