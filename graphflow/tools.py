"""Registered Python functions as an agent's tools: a JSON schema from the signature, calls
checked against it.

A tool is a function registered like any other (``Registry.register_function``) whose
parameters are named and typed: ``def lookup_order(order_id: str) -> dict``. Its schema
comes from the type hints (through pydantic, so ``Literal``, ``list[int]``, models and
defaults all work) and its descriptions from the docstring: the first paragraph describes
the tool, an ``Args:`` section (or ``:param name:`` lines) each parameter. The same model
that makes the schema checks the model's arguments, so a bad call is a clear error the
agent hands back to the model, never a ``TypeError`` from deep inside the function.
"""

from __future__ import annotations

import inspect
import json
import re
import typing
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from graphflow.errors import NodeRaisedBaseException, NodeTimeout
from graphflow.threads import run_in_thread

if TYPE_CHECKING:
    from graphflow.compile import CompiledGraph
    from graphflow.nodes.base import NodeContext, NodeKind
    from graphflow.registry import FunctionEntry

TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
"""What chat-completions servers accept as a function name."""


class ToolDefinitionError(ValueError):
    """A function cannot be a tool (``*args``, a bad name); the message says which and why."""


class ToolArgumentsInvalid(ValueError):
    """The model's arguments are not JSON, or do not fit the tool's parameters."""


Invoke = Callable[[dict[str, Any], "NodeContext"], Awaitable[Any]]
"""How a tool is called: the checked arguments and the call's own context -> its result."""

PORT_TYPES: dict[str, Any] = {"string": str, "number": float, "integer": int, "boolean": bool,
                              "object": dict[str, Any], "array": list[Any], "any": Any}


class GraphToolFailed(Exception):
    """A saved graph called as a tool did not succeed; the model is told why."""


@dataclass(frozen=True, slots=True)
class Tool:
    name: str
    """The name the model calls it by."""
    description: str
    parameters: dict[str, Any]
    """JSON schema of the arguments object."""
    arguments: type[BaseModel]
    invoke: Invoke
    source: str
    """What it calls: ``function NAME``, ``graph ID`` or ``http METHOD URL``."""

    def definition(self) -> dict[str, Any]:
        """The ``tools`` entry of a chat-completions request."""
        return {"type": "function",
                "function": {"name": self.name, "description": self.description, "parameters": self.parameters}}

    def parse(self, raw: str) -> dict[str, Any]:
        """The model's argument text as keyword arguments; ``ToolArgumentsInvalid`` saying why not."""
        try:
            data = json.loads(raw) if raw.strip() else {}
        except json.JSONDecodeError as exc:
            raise ToolArgumentsInvalid(f"the arguments are not JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(data, dict):
            raise ToolArgumentsInvalid(f"the arguments must be a JSON object, not {type(data).__name__}")
        try:
            model = self.arguments.model_validate(data)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(arguments)'}: {e['msg']}"
                                 for e in exc.errors(include_url=False))
            raise ToolArgumentsInvalid(f"invalid arguments: {problems}") from None
        return {name: getattr(model, name) for name in type(model).model_fields}


def param_docs(doc: str) -> tuple[str, dict[str, str]]:
    """(description, {parameter: description}) from a Google-style ``Args:`` section or
    Sphinx ``:param name:`` lines; the description is the text before any section."""
    head: list[str] = []
    params: dict[str, str] = {}
    section, current, indent = "head", None, None
    for line in inspect.cleandoc(doc).splitlines() if doc else []:
        text = line.strip()
        if sphinx := re.match(r":param\s+(?:\S+\s+)?(\w+):\s*(.*)", text):
            section, current = "params", sphinx.group(1)
            params[current] = sphinx.group(2)
        elif re.fullmatch(r"(Args|Arguments|Parameters):", text):
            section, current, indent = "args", None, None
        elif re.fullmatch(r"[A-Z][A-Za-z ]*:", text) or text.startswith(":"):
            section, current = "other", None  # Returns:, Raises:, :returns:
        elif section == "head":
            head.append(text)
        elif section == "args" and (arg := re.match(r"(\w+)\s*(?:\([^)]*\))?:\s*(.*)", text)) and (
                indent is None or len(line) - len(line.lstrip()) == indent):
            indent = len(line) - len(line.lstrip())
            current = arg.group(1)
            params[current] = arg.group(2)
        elif section in ("args", "params") and current is not None and text:
            params[current] += " " + text
    return " ".join(" ".join(head).split()), params


def _checked_name(name: str) -> str:
    if not TOOL_NAME.match(name):
        raise ToolDefinitionError(f"tool name {name!r} must be 1-64 letters, digits, '_' or '-' (give it a name)")
    return name


def _arguments_model(name: str, fields: dict[str, Any]) -> tuple[type[BaseModel], dict[str, Any]]:
    """The pydantic model that checks a tool's arguments, and its JSON schema (titles dropped)."""
    model = create_model(f"{name}_arguments", __config__=ConfigDict(extra="forbid"), **fields)
    schema = model.model_json_schema()
    schema.pop("title", None)
    for prop in schema.get("properties", {}).values():
        prop.pop("title", None)
    return model, schema


def _hints(fn: Any) -> dict[str, Any]:
    """The parameters' resolved type hints, ``ctx`` and the return type left out (their names are
    often imported for type checking only, so they would not resolve)."""
    wanted = {k: v for k, v in inspect.get_annotations(fn).items() if k not in ("ctx", "return")}

    def shim() -> None: ...

    shim.__annotations__ = wanted
    return typing.get_type_hints(shim, globalns=getattr(fn, "__globals__", None))


def tool_from_function(entry: FunctionEntry, name: str = "", description: str = "") -> Tool:
    """A tool calling ``entry``'s function with the model's arguments as keywords."""
    name = _checked_name(name or entry.name.rsplit(".", 1)[-1])
    fn = entry.fn
    try:
        hints = _hints(fn)
    except Exception as exc:  # an annotation that does not resolve
        raise ToolDefinitionError(f"function {entry.name!r}: its type hints do not resolve ({exc})") from None
    doc, docs = param_docs(inspect.getdoc(fn) or "")
    fields: dict[str, Any] = {}
    for param in inspect.signature(fn).parameters.values():
        if param.name == "ctx":
            continue
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD, param.POSITIONAL_ONLY):
            raise ToolDefinitionError(f"function {entry.name!r}: parameter {param.name!r} is {param.kind.description};"
                                      " a tool's parameters must be named")
        default = ... if param.default is param.empty else param.default
        fields[param.name] = (hints.get(param.name, Any), Field(default, description=docs.get(param.name)))
    try:
        model, schema = _arguments_model(name, fields)
    except Exception as exc:  # a type pydantic cannot describe
        raise ToolDefinitionError(f"function {entry.name!r}: no JSON schema for its parameters ({exc})") from None

    async def invoke(kwargs: dict[str, Any], ctx: NodeContext) -> Any:
        if entry.wants_ctx:
            kwargs = {**kwargs, "ctx": ctx}
        if entry.is_async:
            return await entry.fn(**kwargs)
        if not entry.blocking:  # registered non-blocking: quick and pure, so inline
            return entry.fn(**kwargs)
        return await run_in_thread(lambda: contained(entry.fn, kwargs), ctx.thread_abandoned)

    return Tool(name, description or doc or entry.description or name, schema, model, invoke,
                f"function {entry.name}")


def tool_from_graph(graph_id: str, compiled: CompiledGraph, name: str = "", description: str = "") -> Tool:
    """A saved graph as a tool: its input nodes are the parameters, its outputs the result,
    run as a nested run whose id is the call's idempotency key (so its nodes' keys are stable)."""
    spec = compiled.spec
    name = _checked_name(name or re.sub(r"[^A-Za-z0-9_-]", "_", graph_id)[:64])
    fields: dict[str, Any] = {}
    for node in compiled.input_nodes():
        cfg = node.config
        kind: Any = PORT_TYPES.get(cfg.type, Any)
        if not cfg.required or cfg.default is not None:  # the graph's default applies when left out
            fields[cfg.name] = (kind | None, Field(None, description=cfg.description or None))
        else:
            fields[cfg.name] = (kind, Field(..., description=cfg.description or None))
    model, schema = _arguments_model(name, fields)

    async def invoke(kwargs: dict[str, Any], ctx: NodeContext) -> Any:
        given = {k: v for k, v in kwargs.items() if v is not None}
        result = await ctx.run_subgraph(compiled, given, run_id=ctx.idempotency_key, record=True)
        ctx.report_usage(cost=result.cost, tokens=result.tokens)
        if not result.ok:
            where = f" at node {result.failed_node!r}" if result.failed_node else ""
            raise GraphToolFailed(f"graph {graph_id!r} {result.status}{where}: {result.error}")
        return result.outputs

    return Tool(name, description or spec.description or spec.name or f"runs the graph {graph_id}", schema, model,
                invoke, f"graph {graph_id}")


def tool_from_http(kind: NodeKind, config: Any, prepared: Any, name: str, description: str = "") -> Tool:
    """An HTTP request (the ``http_request`` kind's config) as a tool: its ``{variables}`` are
    the parameters; the result is the status and the body (the node's guard applies)."""
    name = _checked_name(name)
    fields = {p.name: (PORT_TYPES.get(p.type, Any), Field(...)) for p in kind.input_ports(config)}
    model, schema = _arguments_model(name, fields)

    async def invoke(kwargs: dict[str, Any], ctx: NodeContext) -> Any:
        out = await kind.run(prepared, dict(kwargs), ctx)
        if not isinstance(out, dict):  # an HTTP request never waits
            raise TypeError(f"tool {name!r}: the HTTP node returned {type(out).__name__}, not its output")
        return {"status": out.get("status"), "body": out.get("body")}

    return Tool(name, description or f"{config.method} {config.url}", schema, model, invoke,
                f"http {config.method} {config.url}")


async def call_tool(tool: Tool, kwargs: dict[str, Any], ctx: NodeContext, limit: float) -> Any:
    """The tool with checked arguments, failing with ``NodeTimeout`` after ``limit`` seconds of
    the run's clock (a sync function's thread is then abandoned)."""
    outcome: dict[str, Any] = {}
    try:
        async with anyio.create_task_group() as tg:
            async def watchdog() -> None:  # on the run's clock, so a fake clock drives it in tests
                await ctx.clock.sleep(limit)
                tg.cancel_scope.cancel()

            tg.start_soon(watchdog)
            outcome["result"] = await tool.invoke(kwargs, ctx)
            tg.cancel_scope.cancel()
    except BaseExceptionGroup as group:  # the tool's own error, not the watchdog's group
        if len(group.exceptions) == 1:
            raise group.exceptions[0] from None
        raise
    if "result" not in outcome:
        raise NodeTimeout(limit, node_id=ctx.node_id, attempt=ctx.attempt, abandoned=ctx.abandoned)
    return outcome["result"]


def contained(fn: Any, kwargs: dict[str, Any]) -> Any:
    """In the worker thread: a BaseException becomes an ordinary failure (see ``function.contained``)."""
    try:
        return fn(**kwargs)
    except Exception:
        raise
    except BaseException as exc:
        raise NodeRaisedBaseException(exc) from None


__all__ = ["GraphToolFailed", "Tool", "ToolArgumentsInvalid", "ToolDefinitionError", "call_tool", "param_docs",
           "tool_from_function", "tool_from_graph", "tool_from_http"]
