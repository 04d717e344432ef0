"""The agent node: a chat model that calls tools until it answers.

The graph itself stays a DAG; the loop lives inside this one node. Each step asks the model
(with the conversation so far and the tools' schemas); when the reply asks for tool calls,
they run concurrently (sync tools in worker threads, as function nodes do), their results go
back to the model, and the next step begins. A reply without tool calls is the answer.

Every step and every finished tool call is a nested event of the node (``agent_step``,
``tool_call``), durable before the agent goes on, so the canvas, ``graphflow show`` and
replay show them, and a resumed run continues after the last one recorded
(``agent_journal.py``). Each call has its own idempotency key (run + node + step + index).

A tool that raises, times out, is unknown or gets arguments that do not fit its schema
answers the model with the error, so the model can correct itself; ``tool_errors: fail``
fails the node instead when a tool raises or times out. ``max_steps``, ``max_tokens`` and
``max_cost`` bound the loop; reaching one fails the node with ``AgentLimitExceeded``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import anyio
from pydantic import Field, ValidationError, model_validator
from pydantic_core import PydanticSerializationError, to_jsonable_python

from graphflow import events as ev
from graphflow.agent_journal import Journal, Step
from graphflow.errors import AgentLimitExceeded, NodeError, ToolCallFailed
from graphflow.model import PortSpec, PortType
from graphflow.nodes.base import NodeConfig, NodeContext, NodeKind, port
from graphflow.nodes.llm import call_model, check_provider, model_identity, render, variables
from graphflow.providers import get_provider
from graphflow.tools import (
    Tool,
    ToolArgumentsInvalid,
    ToolDefinitionError,
    call_tool,
    tool_from_function,
    tool_from_graph,
    tool_from_http,
)

if TYPE_CHECKING:
    from graphflow.llm_call import ToolCallRequest
    from graphflow.model import GraphSpec
    from graphflow.registry import Registry

SESSION_PORT = "session_id"
MAX_TOOL_RESULT_BYTES = 65_536
"""A tool result larger than this (as JSON) is an error result: events and prompts stay small."""


class ToolRef(NodeConfig):
    function: str = ""
    """A registered function, e.g. ``support.lookup_order``."""
    graph: str = ""
    """Or a saved (or registered) graph's id: its inputs are the parameters, run as a nested run."""
    http: dict[str, Any] | None = None
    """Or an ``http_request`` node's config: its ``{variables}`` are the parameters."""
    name: str = ""
    """The name the model calls it by; default: the function's last dotted part, the graph's id."""
    description: str = ""
    """What the model is told it does; default: the docstring, the graph's description."""

    @model_validator(mode="after")
    def _one_source(self) -> ToolRef:
        given = [k for k in ("function", "graph", "http") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError("a tool names one of 'function', 'graph' or 'http'" + (
                f", not {' and '.join(given)}" if given else ""))
        if self.http is not None and not self.name:
            raise ValueError("an http tool needs a 'name'")
        return self


class AgentConfig(NodeConfig):
    provider: str = "default"
    """A provider of the providers file (``graphflow providers`` lists them)."""
    model: str = ""
    """The model name; empty: the provider's default model."""
    system: str = Field(default="", json_schema_extra={"format": "multiline"})
    """The system prompt; ``{variables}`` are input ports."""
    prompt: str = Field(default="{message}", json_schema_extra={"format": "multiline"})
    """The user message; each ``{variable}`` becomes an input port of that name."""
    variable_types: dict[str, PortType] = Field(default_factory=dict)
    """Port type per variable; default ``string`` (``object`` for ``{x.field}``)."""
    tools: list[ToolRef] = Field(default_factory=list, max_length=64)
    """The functions the model may call (a plain name is taken as ``{"function": name}``)."""
    max_steps: int = Field(default=10, ge=1, le=1000)
    """Model calls at most; a model still asking for tools at the last one fails the node."""
    max_tokens: int | None = Field(default=None, ge=1)
    """Tokens (in + out, all steps) after which no further step starts."""
    max_cost: float | None = Field(default=None, gt=0)
    """Cost after which no further step starts (from the provider's prices)."""
    tool_errors: Literal["return", "fail"] = "return"
    """``return``: a tool's error is its result and the model carries on; ``fail``: it fails the node."""
    tool_timeout: float = Field(default=60.0, gt=0, le=86_400)
    """Seconds a tool call may take; then it is an error (a sync tool's thread is abandoned)."""
    temperature: float | None = Field(default=None, ge=0, le=2)
    reply_max_tokens: int | None = Field(default=None, ge=1, le=1_000_000)
    """Tokens per model reply at most."""
    seed: int | None = None
    stream: bool = True
    """Stream each reply, so watchers see the text as it arrives."""
    memory_tokens: int = Field(default=2000, ge=0, le=1_000_000)
    """With a ``session_id`` input: tokens of the session's earlier messages the model is given
    (the newest whole messages that fit)."""

    @model_validator(mode="before")
    @classmethod
    def _tool_names(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("tools"), list):
            tools = [{"function": t} if isinstance(t, str) else t for t in data["tools"]]
            data = {**data, "tools": tools}
        return data


@dataclass(frozen=True, slots=True)
class BoundAgent:
    config: AgentConfig
    tools: dict[str, Tool]


_COMPILING: ContextVar[tuple[str, ...]] = ContextVar("graph_tools_compiling", default=())
"""Graph tools being compiled, outermost first: a graph that reaches itself is refused."""


def build_tools(config: AgentConfig, registry: Registry, graph: GraphSpec | None = None) -> dict[str, Tool]:
    """The config's tools by name; ``ToolDefinitionError`` naming the first problem."""
    tools: dict[str, Tool] = {}
    for i, ref in enumerate(config.tools):
        try:
            tool = _build(ref, registry, graph)
        except ToolDefinitionError as exc:
            raise ToolDefinitionError(f"config.tools[{i}]: {exc}") from None
        if tool.name in tools:
            raise ToolDefinitionError(f"config.tools[{i}]: two tools are named {tool.name!r} (give one a name)")
        tools[tool.name] = tool
    return tools


def _build(ref: ToolRef, registry: Registry, graph: GraphSpec | None) -> Tool:
    if ref.function:
        entry = registry.functions.get(ref.function)
        if entry is None:
            raise ToolDefinitionError(f"unknown function {ref.function!r} (register it in a plugin module)")
        return tool_from_function(entry, ref.name, ref.description)
    if ref.graph:
        return _graph_tool(ref, registry)
    kind = registry.kinds.get("http_request")
    if kind is None:
        raise ToolDefinitionError("http tools need the http_request node kind, which is not registered")
    try:
        http_config = kind.parse_config(ref.http or {})
    except ValidationError as exc:
        raise ToolDefinitionError(f"http: {exc.errors(include_url=False)[0]['msg']}") from None
    problems = kind.check(http_config, registry)
    if problems:
        raise ToolDefinitionError(f"http: {problems[0][1]}")
    from graphflow.model import GraphSpec as Spec

    prepared = kind.prepare_in(http_config, registry, graph or Spec(schema_version=1, id="tool"))
    return tool_from_http(kind, http_config, prepared, ref.name, ref.description)


def _graph_tool(ref: ToolRef, registry: Registry) -> Tool:
    from graphflow.compile import compile_graph  # compile imports the node kinds: import it late
    from graphflow.errors import GraphValidationError

    spec = registry.graphs.get(ref.graph)
    if spec is None:
        raise ToolDefinitionError(f"unknown graph {ref.graph!r} (save it first, or register it in a plugin)")
    outer = _COMPILING.get()
    if ref.graph in outer:
        raise ToolDefinitionError(f"graph {ref.graph!r} calls itself as a tool ({' -> '.join([*outer, ref.graph])})")
    token = _COMPILING.set((*outer, ref.graph))
    try:
        compiled = compile_graph(spec, registry)
    except GraphValidationError as exc:
        raise ToolDefinitionError(f"graph {ref.graph!r} does not validate: {exc.problems[0]}") from None
    finally:
        _COMPILING.reset(token)
    return tool_from_graph(ref.graph, compiled, ref.name, ref.description)


class AgentNode(NodeKind):
    kind = "agent"
    title = "Agent"
    description = "A chat model that calls tools (registered functions) until it answers."
    category = "model"
    Config = AgentConfig
    inputs = (port("message", "string"),)
    outputs = (port("text", "string"), port("usage", "object"))

    def input_ports(self, config: AgentConfig) -> tuple[PortSpec, ...]:
        found = {**variables(config.system), **variables(config.prompt)}
        ports = tuple(port(name, config.variable_types.get(name, "object" if dotted else "string"))
                      for name, dotted in found.items() if name != SESSION_PORT)
        return (*ports, port(SESSION_PORT, "string", required=False,
                             description="a conversation's id: its earlier messages are remembered"))

    def output_ports(self, config: AgentConfig) -> tuple[PortSpec, ...]:
        return (port("text", "string", description="the model's answer"),
                port("usage", "object", description="provider, model, tokens_in, tokens_out, cost, steps, "
                                                    "tool_calls"))

    def check(self, config: AgentConfig, registry: Registry) -> list[tuple[str, str]]:
        problems = check_provider(config.provider, config.model)
        try:
            build_tools(config, registry)
        except ToolDefinitionError as exc:
            code = "unknown_function" if "unknown function" in str(exc) else "invalid_config"
            problems.append((code, str(exc)))
        return problems

    def cache_identity(self, runtime: BoundAgent) -> Any:
        return model_identity(runtime.config.provider, runtime.config.model)

    def prepare_in(self, config: AgentConfig, registry: Registry, graph: GraphSpec) -> BoundAgent:
        return BoundAgent(config, build_tools(config, registry, graph))

    async def run(self, agent: BoundAgent, inputs: dict[str, Any], ctx: NodeContext) -> dict[str, Any]:
        from graphflow.llm_call import ChatRequest

        cfg = agent.config
        provider = get_provider(cfg.provider)
        model = cfg.model or provider.default_model
        journal: Journal | None = ctx.journal
        if journal is None:  # the first attempt: continue after the steps recorded before a crash
            journal = ctx.journal = Journal.from_events(ctx.nested)
            ctx.report_usage(cost=journal.cost, tokens=journal.tokens)
        session = inputs.get(SESSION_PORT) or None
        if session is not None and ctx.sessions is None:
            raise SessionsUnavailable("a session_id was given, but this run keeps no sessions (run it with a "
                                      "database: graphflow run without --no-store, or a Workspace)")
        history = trimmed(await ctx.sessions.session_messages(str(session)), cfg.memory_tokens) \
            if session is not None and ctx.sessions is not None and cfg.memory_tokens else []
        opening = self.opening(cfg, inputs, history)
        definitions = [t.definition() for t in agent.tools.values()] or None
        while True:
            last = journal.last
            if last is not None and not last.calls:
                if session is not None and ctx.sessions is not None:
                    await ctx.sessions.add_session_messages(str(session), ctx.run_id, ctx.node_id, [
                        opening[-1], {"role": "assistant", "content": last.fields.get("text") or ""}])
                return self.answer(last, journal, provider.name, model)
            if last is not None:
                if len(journal.steps) >= cfg.max_steps:
                    raise AgentLimitExceeded("max_steps", f"the model still asked for tools after {cfg.max_steps} "
                                             f"steps (max_steps {cfg.max_steps})")
                check_budget(cfg, journal)
                await self.run_tools(agent, last, ctx, journal)
            number = len(journal.steps) + 1
            request = ChatRequest(model, opening + journal.messages(), cfg.temperature, cfg.reply_max_tokens,
                                  seed=cfg.seed, tools=definitions)
            t0 = ctx.clock.monotonic()
            reply, usage = await call_model(provider, model, request, ctx, cfg.stream)
            fields = {"step": number, "attempt": ctx.attempt, "model": model, "text": reply.text,
                      "tool_calls": [call_fields(c) for c in reply.tool_calls],
                      "duration": ctx.clock.monotonic() - t0, "tokens_in": usage.tokens_in,
                      "tokens_out": usage.tokens_out, "cost": usage.cost}
            await ctx.record(ev.AgentStep, **fields)
            journal.add_step({"node_id": ctx.node_id, **fields})

    @staticmethod
    def opening(cfg: AgentConfig, inputs: Mapping[str, Any],
                history: Sequence[Mapping[str, Any]] = ()) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        if cfg.system:
            messages.append({"role": "system", "content": render(cfg.system, inputs)})
        messages.extend({"role": m["role"], "content": m["content"]} for m in history)
        messages.append({"role": "user", "content": render(cfg.prompt, inputs)})
        return messages

    @staticmethod
    def answer(last: Step, journal: Journal, provider: str, model: str) -> dict[str, Any]:
        return {"text": last.fields.get("text") or "",
                "usage": {"provider": provider, "model": model, "tokens_in": journal.tokens_in,
                          "tokens_out": journal.tokens_out, "cost": journal.cost, "steps": len(journal.steps),
                          "tool_calls": journal.tool_calls}}

    async def run_tools(self, agent: BoundAgent, step: Step, ctx: NodeContext, journal: Journal) -> None:
        """The step's calls without a recorded result, at once; each recorded as it finishes."""
        failures: list[ToolCallFailed] = []

        async def one(index: int) -> None:
            failure = await self.call(agent, step, index, ctx, journal)
            if failure is not None:
                failures.append(failure)

        async with anyio.create_task_group() as tg:
            for index in step.missing():
                tg.start_soon(one, index)
        if failures:
            raise failures[0]

    async def call(self, agent: BoundAgent, step: Step, index: int, ctx: NodeContext,
                   journal: Journal) -> ToolCallFailed | None:
        cfg = agent.config
        asked = step.calls[index]
        call_ctx = ctx.for_call(step.number, index)
        tool = agent.tools.get(asked["name"])
        arguments: Any = asked["arguments"]
        result: Any = None
        error: str | None = None
        fatal = False
        t0 = ctx.clock.monotonic()
        try:
            if tool is None:
                raise ToolArgumentsInvalid(f"there is no tool named {asked['name']!r} (the tools are: "
                                           f"{', '.join(agent.tools) or 'none'})")
            kwargs = tool.parse(asked["arguments"])
            arguments = to_jsonable_python(kwargs, fallback=str)
            result = checked_result(await call_tool(tool, kwargs, call_ctx, cfg.tool_timeout))
        except ToolArgumentsInvalid as exc:
            error = str(exc)  # the model's mistake: always its to correct
            arguments = shown_arguments(asked["arguments"])
        except BaseException as exc:
            if isinstance(exc, anyio.get_cancelled_exc_class()):
                raise
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            fatal = cfg.tool_errors == "fail"
        await ctx.record(ev.ToolCalled, step=step.number, index=index, call_id=asked["id"], name=asked["name"],
                         arguments=arguments, result=result, error=error, fatal=fatal,
                         duration=ctx.clock.monotonic() - t0, key=call_ctx.idempotency_key)
        journal.add_result({"step": step.number, "index": index, "result": result, "error": error, "fatal": fatal})
        return ToolCallFailed(asked["name"], step.number, error or "") if fatal else None


class SessionsUnavailable(NodeError):
    """A session id was given to a run that has nowhere to keep sessions."""

    retryable = False


def trimmed(messages: list[dict[str, Any]], budget: int) -> list[dict[str, Any]]:
    """The newest whole messages whose estimated tokens fit ``budget``, oldest first, starting
    with a user message (a reply without its question would confuse the model)."""
    from graphflow.llm_call import estimate_tokens

    kept: list[dict[str, Any]] = []
    used = 0
    for message in reversed(messages):
        used += estimate_tokens(str(message.get("content") or ""))
        if used > budget:
            break
        kept.append(message)
    kept.reverse()
    while kept and kept[0].get("role") != "user":
        kept.pop(0)
    return kept


def shown_arguments(raw: str) -> Any:
    """Arguments that did not fit, for the event: parsed when they are JSON, else the text."""
    import json

    try:
        return json.loads(raw)
    except ValueError:
        return raw


def call_fields(call: ToolCallRequest) -> dict[str, Any]:
    return {"id": call.id, "name": call.name, "arguments": call.arguments}


def check_budget(cfg: AgentConfig, journal: Journal) -> None:
    """Before a further step: the tokens and cost spent so far are within the limits."""
    if cfg.max_tokens is not None and journal.tokens >= cfg.max_tokens:
        raise AgentLimitExceeded("max_tokens", f"{len(journal.steps)} steps spent {journal.tokens} tokens "
                                 f"(max_tokens {cfg.max_tokens}); no further step")
    if cfg.max_cost is not None and journal.cost >= cfg.max_cost:
        raise AgentLimitExceeded("max_cost", f"{len(journal.steps)} steps cost ${journal.cost:.6g} "
                                 f"(max_cost ${cfg.max_cost:.6g}); no further step")


def checked_result(result: Any) -> Any:
    """The result as JSON data, small enough to record and show the model."""
    import json

    try:
        data = to_jsonable_python(result)
        size = len(json.dumps(data, ensure_ascii=False, allow_nan=False).encode())
    except (PydanticSerializationError, ValueError) as exc:
        raise TypeError(f"the tool returned something that is not JSON data ({exc})") from None
    if size > MAX_TOOL_RESULT_BYTES:
        raise ValueError(f"the tool's result is {size:,} bytes of JSON (at most {MAX_TOOL_RESULT_BYTES:,})")
    return data
