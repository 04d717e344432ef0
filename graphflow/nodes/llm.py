"""The LLM chat node: one call to an OpenAI-compatible chat-completions server.

The message template's ``{variables}`` are the node's input ports (``{customer.name}`` reads
the ``customer`` port), so adding a variable adds a port on the canvas. The provider (base URL,
credential, prices, rate limits) comes from the providers file by name (``providers.py``).
With an output schema the reply must be JSON that validates against it; one that does not is
a retryable ``ModelOutputInvalid`` carrying the validation error.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import Field

from graphflow.cascade import Cascade, cascade_usage, reply_confidence
from graphflow.errors import ModelOutputInvalid
from graphflow.model import PortSpec, PortType
from graphflow.nodes.base import NodeConfig, NodeContext, NodeKind, port
from graphflow.providers import Provider, ProviderError, get_provider

if TYPE_CHECKING:
    from graphflow.llm_call import ChatReply, ChatRequest
    from graphflow.registry import Registry

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)((?:\.[A-Za-z0-9_]+)*)\}")
SCHEMA_TYPES = {"string", "number", "integer", "boolean", "object", "array"}


def variables(template: str) -> dict[str, bool]:
    """Variable names in order of first use -> whether the template reads a field of it."""
    found: dict[str, bool] = {}
    for match in _PLACEHOLDER.finditer(template):
        found[match.group(1)] = found.get(match.group(1), False) or bool(match.group(2))
    return found


def render(template: str, values: Mapping[str, Any]) -> str:
    """Fill ``{name}`` / ``{name.field}`` by key lookup only (never ``str.format``); objects as JSON."""

    def lookup(match: re.Match[str]) -> str:
        value: Any = values.get(match.group(1))
        for key in [k for k in match.group(2).split(".") if k]:
            if isinstance(value, Mapping) and key in value:
                value = value[key]
            elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
                value = value[int(key)]
            else:
                raise KeyError(f"prompt variable {{{match.group(0)[1:-1]}}}: no key {key!r}")
        if isinstance(value, str):
            return value
        return json.dumps(value, ensure_ascii=False)

    return _PLACEHOLDER.sub(lookup, template)


class LLMConfig(NodeConfig):
    provider: str = "default"
    """A provider of the providers file (``graphflow providers`` lists them)."""
    model: str = ""
    """The model name; empty: the provider's default model."""
    system: str = Field(default="", json_schema_extra={"format": "multiline"})
    """The system prompt."""
    prompt: str = Field(default="{question}", json_schema_extra={"format": "multiline"})
    """The user message; each ``{variable}`` becomes an input port of that name."""
    variable_types: dict[str, PortType] = Field(default_factory=dict)
    """Port type per variable; default ``string`` (``object`` for ``{x.field}``)."""
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=1, le=1_000_000)
    stop: list[str] = Field(default_factory=list, max_length=4)
    """Up to four sequences where the model stops."""
    seed: int | None = None
    stream: bool = True
    """Stream the reply, so watchers see the text as it arrives."""
    output_schema: dict[str, Any] | None = None
    """A JSON schema: the reply must be JSON that fits it; the output is then ``data``, not ``text``."""
    output_fields: dict[str, str] = Field(default_factory=dict)
    """A simpler schema: field name -> type (string, number, integer, boolean, object, array), all required."""
    cascade: Cascade | None = None
    """Ask ``model`` first and this larger model only when that answer is not good enough."""

    def reply_schema(self) -> dict[str, Any] | None:
        if self.output_schema is not None:
            return self.output_schema
        if self.output_fields:
            return {"type": "object", "properties": {k: {"type": t} for k, t in self.output_fields.items()},
                    "required": list(self.output_fields), "additionalProperties": False}
        return None


@dataclass(frozen=True, slots=True)
class Usage:
    provider: str
    model: str
    tokens_in: int
    tokens_out: int
    cost: float

    def as_dict(self) -> dict[str, Any]:
        return {"provider": self.provider, "model": self.model, "tokens_in": self.tokens_in,
                "tokens_out": self.tokens_out, "cost": self.cost}


def check_provider(name: str, model: str) -> list[tuple[str, str]]:
    """The provider exists and a model is named (by the node or as the provider's default)."""
    try:
        provider = get_provider(name)
    except ProviderError as exc:
        return [("unknown_provider", str(exc))]
    if not (model or provider.default_model):
        return [("invalid_config", f"config.model: provider {name!r} has no default model; name one")]
    return []


def model_identity(provider_name: str, model: str) -> dict[str, str] | None:
    """The cache's view of where a call goes: the provider's server and the model that answers
    (the node's, else the provider's default). Never the credential. None: unknown provider."""
    try:
        provider = get_provider(provider_name)
    except ProviderError:
        return None
    return {"base_url": provider.base_url, "model": model or provider.default_model}


def check_model_config(config: LLMConfig) -> list[tuple[str, str]]:
    """Problems shared by the model nodes: provider, model, schema."""
    problems = check_provider(config.provider, config.model)
    if problems and problems[0][0] == "unknown_provider":
        return problems
    bad = {k: t for k, t in config.output_fields.items() if t not in SCHEMA_TYPES}
    if bad:
        problems.append(("invalid_config", f"config.output_fields: unknown types {bad} "
                                           f"(use {', '.join(sorted(SCHEMA_TYPES))})"))
    schema = config.reply_schema()
    if schema is not None:
        from jsonschema.exceptions import SchemaError
        from jsonschema.validators import validator_for

        try:
            validator_for(schema).check_schema(schema)
        except SchemaError as exc:
            problems.append(("invalid_config", f"config.output_schema is not a JSON schema: {exc.message}"))
    return problems


async def call_model(provider: Provider, model: str, request: ChatRequest, ctx: NodeContext,
                     stream: bool) -> tuple[ChatReply, Usage]:
    """The call under the provider's rate limits, its usage reported on the node's events."""
    from graphflow.llm_call import chat, estimate_tokens
    from graphflow.ratelimit import limiter_for

    key = ctx.secret(provider.secret) if provider.secret else None
    limiter = limiter_for(provider.name, provider.limits, ctx.clock)
    estimate = estimate_tokens(json.dumps(request.messages)) + (request.max_tokens or 256)
    entry = await limiter.acquire(estimate) if limiter is not None else None
    used: int | None = None
    try:
        reply = await chat(provider, key, request, on_text=ctx.stream_text if stream else None)
        used = reply.tokens_in + reply.tokens_out
    finally:
        if limiter is not None and entry is not None:
            limiter.release(entry, used)
    usage = Usage(provider.name, model, reply.tokens_in, reply.tokens_out,
                  provider.cost(model, reply.tokens_in, reply.tokens_out))
    ctx.report_usage(cost=usage.cost, tokens=used or 0)
    return reply, usage


def parse_structured(text: str, schema: dict[str, Any]) -> Any:
    """The reply as JSON fitting ``schema``; ``ModelOutputInvalid`` saying why not."""
    from jsonschema.exceptions import best_match
    from jsonschema.validators import validator_for

    body = text.strip()
    fenced = re.fullmatch(r"```(?:json)?\s*(.*?)\s*```", body, re.DOTALL)  # some models fence their JSON
    if fenced:
        body = fenced.group(1)
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        raise ModelOutputInvalid(f"the reply is not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})",
                                 detail={"validation_error": exc.msg, "reply": text[:2000]}) from None
    error = best_match(validator_for(schema)(schema).iter_errors(data))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        raise ModelOutputInvalid(f"the reply does not fit the output schema at {where}: {error.message}",
                                 detail={"validation_error": error.message, "path": where, "reply": text[:2000]})
    return data


class LLMNode(NodeKind):
    kind = "llm"
    title = "LLM chat"
    description = "Asks a chat model (any OpenAI-compatible server); prompt variables are input ports."
    category = "model"
    Config = LLMConfig
    inputs = (port("question", "string"),)
    outputs = (port("text", "string"), port("usage", "object"))

    def input_ports(self, config: LLMConfig) -> tuple[PortSpec, ...]:
        found = {**variables(config.system), **variables(config.prompt)}
        return tuple(port(name, config.variable_types.get(name, "object" if dotted else "string"))
                     for name, dotted in found.items())

    def output_ports(self, config: LLMConfig) -> tuple[PortSpec, ...]:
        main = port("data", "any") if config.reply_schema() is not None else port("text", "string")
        return (main, port("usage", "object", description="provider, model, tokens_in, tokens_out, cost"))

    def check(self, config: LLMConfig, registry: Registry) -> list[tuple[str, str]]:
        return check_model_config(config)

    def cache_identity(self, runtime: LLMConfig) -> Any:
        return model_identity(runtime.provider, runtime.model)

    def request(self, config: LLMConfig, model: str, inputs: Mapping[str, Any]) -> ChatRequest:
        from graphflow.llm_call import ChatRequest

        messages: list[dict[str, Any]] = []
        if config.system:
            messages.append({"role": "system", "content": render(config.system, inputs)})
        messages.append({"role": "user", "content": render(config.prompt, inputs)})
        schema = config.reply_schema()
        response_format = None if schema is None else {
            "type": "json_schema", "json_schema": {"name": "output", "schema": schema}}
        return ChatRequest(model, messages, config.temperature, config.max_tokens, list(config.stop), config.seed,
                           response_format)

    async def run(self, config: LLMConfig, inputs: dict[str, Any], ctx: NodeContext) -> dict[str, Any]:
        provider = get_provider(config.provider)
        model = config.model or provider.default_model
        schema = config.reply_schema()
        cascade = config.cascade
        request = self.request(config, model, inputs)
        if cascade is None:
            reply, usage = await call_model(provider, model, request, ctx, config.stream)
            return self.output(reply.text, schema, usage.as_dict())
        if cascade.min_confidence is not None:
            request = dataclasses.replace(request, logprobs=1)
        reply, usage = await call_model(provider, model, request, ctx, False)  # the cheap answer is not streamed
        calls = [usage.as_dict()]
        try:
            confidence = reply_confidence(reply.logprobs)
            if cascade.min_confidence is None or (confidence is not None and confidence >= cascade.min_confidence):
                return self.output(reply.text, schema, {**cascade_usage(provider, cascade, calls),
                                                        "confidence": confidence})
        except ModelOutputInvalid:
            pass
        larger = dataclasses.replace(request, model=cascade.model, logprobs=None)
        reply, usage = await call_model(provider, cascade.model, larger, ctx, config.stream)
        calls.append(usage.as_dict())
        return self.output(reply.text, schema, cascade_usage(provider, cascade, calls))

    @staticmethod
    def output(text: str, schema: dict[str, Any] | None, usage: dict[str, Any]) -> dict[str, Any]:
        if schema is None:
            return {"text": text, "usage": usage}
        return {"data": parse_structured(text, schema), "usage": usage}
