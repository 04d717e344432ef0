"""On-enter actions of a state machine's states: a node kind with its config, a registered
function, or a saved graph run as a nested run.

Each is resolved once, when the graph compiles (an unknown kind, function or graph, or a
config that does not fit, is a validation problem naming the state), and run with the
context object ``{state, from, event, data, input}``. An action runs with its own
idempotency key, ``run:node:STEP:0`` (STEP: the transition's number in the history), the
same when a crash makes the machine enter the state again.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from graphflow.errors import NodeError
from graphflow.expressions import Expression, ExpressionError, parse_expression
from graphflow.nodes.base import NodeContext, NodeKind
from graphflow.nodes.function import call_function
from graphflow.nodes.machine_config import ActionSpec
from graphflow.waits import Wait

if TYPE_CHECKING:
    from graphflow.compile import CompiledGraph
    from graphflow.model import GraphSpec
    from graphflow.registry import FunctionEntry, Registry

REFUSED_KINDS = frozenset({"input", "output", "stop", "join", "state_machine"})
"""Kinds that mean nothing outside a graph's wiring (or would nest a machine's waits)."""

_COMPILING: ContextVar[tuple[str, ...]] = ContextVar("machine_graphs_compiling", default=())
"""Graph actions being compiled, outermost first: a graph that reaches itself is refused."""


class ActionProblem(Exception):
    """An action that cannot be resolved (a validation problem)."""


class StateActionFailed(NodeError):
    """A state's on-enter action failed and the machine has no ``error_state`` to go to."""


@dataclass(frozen=True, slots=True)
class KindAction:
    kind: NodeKind
    runtime: Any
    ports: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FunctionAction:
    entry: FunctionEntry
    args: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class GraphAction:
    graph_id: str
    compiled: CompiledGraph
    inputs: Mapping[str, Expression]


Action = KindAction | FunctionAction | GraphAction


def resolve(spec: ActionSpec, registry: Registry, graph: GraphSpec | None = None) -> Action:
    """The action ready to run; ``ActionProblem`` naming what is wrong."""
    if spec.function:
        entry = registry.functions.get(spec.function)
        if entry is None:
            raise ActionProblem(f"unknown function {spec.function!r} (register it in a plugin module)")
        return FunctionAction(entry, dict(spec.args))
    if spec.graph:
        return GraphAction(spec.graph, _compile(spec.graph, registry), _expressions(spec.inputs))
    kind = registry.kinds.get(spec.kind)
    if kind is None:
        raise ActionProblem(f"unknown node kind {spec.kind!r}")
    if spec.kind in REFUSED_KINDS:
        raise ActionProblem(f"a {spec.kind!r} node cannot be an on-enter action")
    try:
        config = kind.parse_config(spec.config)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        raise ActionProblem(f"config.{'.'.join(str(p) for p in err['loc'])}: {err['msg']}") from None
    found = kind.check(config, registry)
    if found:
        raise ActionProblem(found[0][1])
    for field, text in kind.expressions(config):
        try:
            parse_expression(text)
        except ExpressionError as exc:
            raise ActionProblem(f"config.{field}: {exc}") from None
    from graphflow.model import GraphSpec as Spec

    runtime = kind.prepare_in(config, registry, graph or Spec(schema_version=1, id="action"))
    return KindAction(kind, runtime, tuple(p.name for p in kind.input_ports(config)))


def _expressions(inputs: Mapping[str, str]) -> dict[str, Expression]:
    out: dict[str, Expression] = {}
    for name, text in inputs.items():
        try:
            out[name] = parse_expression(text)
        except ExpressionError as exc:
            raise ActionProblem(f"inputs.{name}: {exc}") from None
    return out


def _compile(graph_id: str, registry: Registry) -> CompiledGraph:
    from graphflow.compile import compile_graph  # compile imports the node kinds: import it late
    from graphflow.errors import GraphValidationError

    spec = registry.graphs.get(graph_id)
    if spec is None:
        raise ActionProblem(f"unknown graph {graph_id!r} (save it first, or register it in a plugin)")
    outer = _COMPILING.get()
    if graph_id in outer:
        raise ActionProblem(f"graph {graph_id!r} runs itself ({' -> '.join([*outer, graph_id])})")
    token = _COMPILING.set((*outer, graph_id))
    try:
        return compile_graph(spec, registry)
    except GraphValidationError as exc:
        raise ActionProblem(f"graph {graph_id!r} does not validate: {exc.problems[0]}") from None
    finally:
        _COMPILING.reset(token)


def by_name(name: str, context: Mapping[str, Any]) -> Any:
    """A named value for a port or a graph input: the context's field, else the event data's,
    else the input's (when they are objects)."""
    if name in context:
        return context[name]
    for source in (context.get("data"), context.get("input")):
        if isinstance(source, dict) and name in source:
            return source[name]
    return None


async def run_action(action: Action, context: dict[str, Any], ctx: NodeContext) -> Any:
    """Run it; its result (a kind's ``out`` port, or all its outputs)."""
    if isinstance(action, FunctionAction):
        return await call_function(action.entry, context, dict(action.args), ctx)
    if isinstance(action, GraphAction):
        return await _run_graph(action, context, ctx)
    inputs = {p: context if p == "in" else by_name(p, context) for p in action.ports}
    result = await action.kind.run(action.runtime, inputs, ctx)
    if isinstance(result, Wait):
        raise NodeError(f"a {action.kind.kind!r} action cannot wait ({result.kind}); use a state and an event")
    return result["out"] if set(result) == {"out"} else result


async def _run_graph(action: GraphAction, context: dict[str, Any], ctx: NodeContext) -> Any:
    given: dict[str, Any] = {}
    for node in action.compiled.input_nodes():
        name = node.config.name
        if name in action.inputs:
            given[name] = action.inputs[name].evaluate(context)
        elif (value := by_name(name, context)) is not None:
            given[name] = value
    result = await ctx.run_subgraph(action.compiled, given, run_id=ctx.idempotency_key)
    ctx.report_usage(cost=result.cost, tokens=result.tokens)
    if not result.ok:
        where = f" at node {result.failed_node!r}" if result.failed_node else ""
        raise NodeError(f"graph {action.graph_id!r} {result.status}{where}: {result.error}")
    return result.outputs
