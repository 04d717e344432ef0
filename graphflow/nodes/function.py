"""Calls a Python function that code registered by name. A graph names the
function; it never carries code.

Its ports come from the function's signature (``graphflow.signatures``): each positional
parameter not given in ``args`` is an input port typed by its annotation (the sole one is named
``in``), the return annotation types ``out``. A value for a parameter annotated with a pydantic
model or TypedDict is validated against it (and made the model) before the call; a returned
model is stored as its JSON data.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, ValidationError

from graphflow.errors import InputInvalid, NodeRaisedBaseException
from graphflow.model import PortSpec
from graphflow.nodes.base import NodeConfig, NodeContext, NodeKind, port
from graphflow.signatures import InputParam, input_params, read_signature, type_name
from graphflow.threads import run_in_thread

if TYPE_CHECKING:
    from graphflow.registry import FunctionEntry, Registry


class FunctionConfig(NodeConfig):
    function: str = Field(min_length=1)
    """Registered name, e.g. ``samples.chain.extract_email``."""
    args: dict[str, Any] = Field(default_factory=dict)
    """Extra keyword arguments passed to the function (a parameter given here is not an input port)."""


@dataclass(frozen=True, slots=True)
class BoundFunction:
    config: FunctionConfig
    entry: FunctionEntry
    params: tuple[tuple[str, InputParam | None], ...]
    """(input port, parameter) in call order; see ``signatures.input_params``."""
    sole: tuple[str, Any] | None = None
    """(port, value when it gets none) when the call is just ``fn(value)``: one input, the
    function's first parameter, no model to validate it against, no ``args``, no ``ctx``."""


def bind(config: FunctionConfig, entry: FunctionEntry) -> BoundFunction:
    params = tuple(input_params(read_signature(entry.fn), config.args))
    sole = None
    if len(params) == 1 and not config.args and not entry.wants_ctx:
        port_name, param = params[0]
        if param is not None and param.adapter is None:
            sole = (port_name, None if param.default is inspect.Parameter.empty else param.default)
    return BoundFunction(config, entry, params, sole)


class FunctionNode(NodeKind):
    kind = "function"
    title = "Python function"
    description = "Calls a registered Python function: its parameters are the inputs, its result the output."
    Config = FunctionConfig
    inputs = (port("in", required=False),)
    ports_from = "the function's signature (graphflow functions)"

    def check(self, config: FunctionConfig, registry: Registry) -> list[tuple[str, str]]:
        if config.function not in registry.functions:
            return [("unknown_function", f"unknown function {config.function!r} (register it in a plugin module)")]
        return []

    def ports_in(self, config: FunctionConfig, registry: Registry) -> tuple[tuple[PortSpec, ...],
                                                                             tuple[PortSpec, ...]]:
        from graphflow.signatures import function_ports

        entry = registry.functions.get(config.function)
        if entry is None:  # reported by check(); the static ports meanwhile
            return self.inputs, self.outputs
        return function_ports(read_signature(entry.fn), config.args)

    def prepare(self, config: FunctionConfig, registry: Registry) -> BoundFunction:
        entry = registry.functions[config.function]
        return bind(config, entry)

    def runs_inline(self, runtime: BoundFunction) -> bool:
        # Registered non-blocking: a task would only add cost. Other sync functions go to a thread.
        return not runtime.entry.is_async and not runtime.entry.blocking

    def needs_own_context(self, runtime: BoundFunction) -> bool:
        return runtime.entry.wants_ctx

    def reports_through_context(self, runtime: BoundFunction) -> bool:
        return runtime.entry.wants_ctx  # a function that takes no ctx never sees one

    def stops_when_cancelled(self, runtime: BoundFunction) -> bool:
        return runtime.entry.is_async  # a function in a thread runs on after a cancel

    def run_inline(self, config: BoundFunction, inputs: dict[str, Any], ctx: NodeContext) -> dict[str, Any]:
        if config.sole is not None:  # most calls: no arguments to build
            return {"out": as_data(config.entry.fn(inputs.get(*config.sole)))}
        args, kwargs = call_arguments(config, inputs, ctx)
        return {"out": as_data(config.entry.fn(*args, **kwargs))}

    async def run(self, config: BoundFunction, inputs: dict[str, Any], ctx: NodeContext) -> dict[str, Any]:
        entry = config.entry
        if entry.is_async and config.sole is not None:
            return {"out": as_data(await entry.fn(inputs.get(*config.sole)))}
        args, kwargs = call_arguments(config, inputs, ctx)
        if entry.is_async:  # awaited here: one coroutine fewer per node than through call_with
            return {"out": as_data(await entry.fn(*args, **kwargs))}
        return {"out": as_data(await call_with(entry, args, kwargs, ctx))}


def call_arguments(bound: BoundFunction, inputs: dict[str, Any], ctx: NodeContext) -> tuple[list[Any],
                                                                                           dict[str, Any]]:
    """Each port's value for its parameter (validated when annotated with a model), the config's
    ``args``, and ``ctx`` when the function asks for it. An input that did not arrive gives the
    parameter's default, or None."""
    args: list[Any] = []
    kwargs: dict[str, Any] = dict(bound.config.args)
    for name, param in bound.params:
        if param is None:  # only *args: the value goes first, positionally
            args.append(inputs.get(name))
            continue
        if name in inputs:
            value = inputs[name]
            if param.adapter is not None:
                value = checked(param, name, value)
        else:
            value = None if param.default is inspect.Parameter.empty else param.default
        if param.positional_only:
            args.append(value)
        else:
            kwargs[param.name] = value
    if bound.entry.wants_ctx:
        kwargs["ctx"] = ctx
    return args, kwargs


def checked(param: InputParam, port_name: str, value: Any) -> Any:
    """The value validated against the parameter's model annotation, or as it is."""
    if param.adapter is None:
        return value
    try:
        return param.adapter.validate_python(value)
    except ValidationError as exc:
        raise InputInvalid(port_name, type_name(param.annotation), exc) from None


def as_data(result: Any) -> Any:
    """A returned pydantic model as its JSON data (what the next node and the store get)."""
    return result.model_dump(mode="json") if isinstance(result, BaseModel) else result


async def call_function(entry: FunctionEntry, value: Any, args: dict[str, Any], ctx: NodeContext) -> Any:
    """``fn(value, **args)``, with ``ctx`` if it asks for it (a map's item and reduce calls):
    the value is checked against a model annotation of the first parameter, as a port's is."""
    params = read_signature(entry.fn).params
    if params and params[0].adapter is not None:
        value = checked(params[0], params[0].name, value)
    kwargs = dict(args)
    if entry.wants_ctx:
        kwargs["ctx"] = ctx
    return as_data(await call_with(entry, [value], kwargs, ctx))


async def call_with(entry: FunctionEntry, args: list[Any], kwargs: dict[str, Any], ctx: NodeContext) -> Any:
    """Sync functions go to a thread, the non-blocking ones too when a timeout applies (only a
    thread can be walked away from)."""
    if entry.is_async:
        return await entry.fn(*args, **kwargs)
    if entry.blocking or ctx.timeout is not None:
        return await run_in_thread(lambda: contained(entry.fn, args, kwargs), ctx.thread_abandoned)
    return entry.fn(*args, **kwargs)


def contained(fn: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    """In the worker thread: a BaseException must not cross back into the event loop as it
    is (a GeneratorExit there breaks the awaiting coroutine), so it becomes a failure here."""
    try:
        return fn(*args, **kwargs)
    except Exception:
        raise
    except BaseException as exc:
        raise NodeRaisedBaseException(exc) from None
