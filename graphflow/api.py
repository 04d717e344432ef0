"""The functions a user scripts against (re-exported from ``graphflow``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import anyio

from graphflow.clock import Clock
from graphflow.compile import CompiledGraph, compile_graph
from graphflow.errors import StoreNeeded
from graphflow.model import GraphSpec
from graphflow.ports import EventSink, KeyValueStore, SecretSource
from graphflow.registry import Registry, default_registry
from graphflow.resilience import BreakerRegistry
from graphflow.runner import RunControl, Runner, RunResult
from graphflow.validate import parse_graph_json, spec_from_data


def load_graph(source: str | bytes | Path | Mapping[str, Any]) -> GraphSpec:
    """Read and structurally validate a graph: a path, JSON text or a decoded dict."""
    if isinstance(source, Path):
        data = parse_graph_json(source.read_bytes())
    elif isinstance(source, str | bytes):
        data = parse_graph_json(source)
    else:
        data = dict(source)
    return spec_from_data(data)


def validate_graph(source: str | bytes | Path | Mapping[str, Any] | GraphSpec,
                   registry: Registry | None = None) -> CompiledGraph:
    """Every check, structural and against the registry; raises ``GraphValidationError``."""
    spec = source if isinstance(source, GraphSpec) else load_graph(source)
    return compile_graph(spec, registry or default_registry())


async def run(
    graph: str | bytes | Path | Mapping[str, Any] | GraphSpec | CompiledGraph,
    inputs: Mapping[str, Any] | None = None,
    *,
    registry: Registry | None = None,
    sinks: Sequence[EventSink] = (),
    clock: Clock | None = None,
    max_concurrency: int = 64,
    run_id: str | None = None,
    control: RunControl | None = None,
    breakers: BreakerRegistry | None = None,
    cache: KeyValueStore | None = None,
    secrets: SecretSource | None = None,
) -> RunResult:
    """Validate and run a graph; the result has the outputs, status and every event.

    Pass the same ``breakers`` (and ``cache``) to several runs to share circuit breakers
    (and cached outputs) between them."""
    compiled = graph if isinstance(graph, CompiledGraph) else validate_graph(graph, registry)
    refuse_waiting(compiled)
    runner = Runner(compiled, sinks=sinks, clock=clock, max_concurrency=max_concurrency, breakers=breakers,
                    cache=cache, secrets=secrets)
    return await runner.run(inputs, run_id=run_id, control=control)


def refuse_waiting(compiled: CompiledGraph) -> None:
    """``StoreNeeded`` when a node of the graph may wait: the engine alone cannot keep a waiting run."""
    waiting = [f"{n.id!r} ({n.spec.kind})" for n in compiled.nodes.values() if n.kind.may_wait(n.config)]
    if waiting:
        raise StoreNeeded(
            f"graph {compiled.spec.id!r} cannot run without a database: node{'s' if len(waiting) > 1 else ''} "
            f"{', '.join(waiting)} may wait for an event or a person, and a waiting run needs a store to be kept "
            "in and woken from (run it through a workspace: graphflow run without --no-store, or "
            "graphflow.Workspace in Python)")


def run_sync(
    graph: str | bytes | Path | Mapping[str, Any] | GraphSpec | CompiledGraph,
    inputs: Mapping[str, Any] | None = None,
    **options: Any,
) -> RunResult:
    """Blocking ``run``, for scripts and notebooks without an event loop."""
    return anyio.run(lambda: run(graph, inputs, **options))
