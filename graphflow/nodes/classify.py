"""The classifier node: a chat model picks one label of a set, with a confidence.

The confidence is the probability the model gave its answer, from the log-probabilities of the
reply's tokens where the server sends them; a server that sends none is asked again for a JSON
reply ``{label, confidence}`` (method ``auto``), or only that way (method ``json``). An answer
outside the label set is a retryable ``ModelOutputInvalid``. With a ``cascade`` a larger model
is asked when the cheap one's confidence is below the threshold or its answer is not a label.
With ``min_confidence`` an answer still below it fails the node (``ModelUnsure``), for a fallback.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator

from graphflow.cascade import Cascade, cascade_usage
from graphflow.errors import ModelOutputInvalid, ModelUnsure
from graphflow.model import PortSpec, PortType
from graphflow.nodes.base import NodeConfig, NodeContext, NodeKind, port
from graphflow.nodes.llm import (
    LLMConfig,
    Usage,
    call_model,
    check_model_config,
    model_identity,
    parse_structured,
    render,
    variables,
)
from graphflow.providers import get_provider

if TYPE_CHECKING:
    from graphflow.llm_call import ChatReply, ChatRequest
    from graphflow.providers import Provider
    from graphflow.registry import Registry


class ClassifyConfig(NodeConfig):
    provider: str = "default"
    """A provider of the providers file (``graphflow providers`` lists them)."""
    model: str = ""
    """The model name; empty: the provider's default model. A small one is usually enough."""
    labels: list[str] = Field(min_length=2, max_length=100)
    """The labels to choose from."""
    descriptions: dict[str, str] = Field(default_factory=dict)
    """Optional: what each label means, given to the model."""
    prompt: str = Field(default="{text}", json_schema_extra={"format": "multiline"})
    """What to classify; each ``{variable}`` becomes an input port of that name."""
    variable_types: dict[str, PortType] = Field(default_factory=dict)
    """Port type per variable; default ``string`` (``object`` for ``{x.field}``)."""
    instructions: str = ""
    """Extra guidance for the model (added to the system prompt)."""
    method: Literal["auto", "logprobs", "json"] = "auto"
    """auto: log-probabilities, and a JSON reply from servers that send none; or only one of them."""
    min_confidence: float | None = Field(default=None, ge=0, le=1)
    """Below this confidence (of the answer given, a cascade's larger model's included) the node
    fails with ``ModelUnsure``, not retried: wire its ``error`` port, or a tolerant join, to a
    fallback (a rule-based route)."""
    cascade: Cascade | None = None
    """Ask ``model`` first and this larger model only when its confidence is below
    ``min_confidence`` or its answer is not one of the labels."""

    @field_validator("labels")
    @classmethod
    def _distinct(cls, labels: list[str]) -> list[str]:
        if any(not label.strip() for label in labels):
            raise ValueError("labels must not be empty")
        folded = [label.strip().lower() for label in labels]
        dupes = sorted({label for label in folded if folded.count(label) > 1})
        if dupes:
            raise ValueError(f"labels must differ (ignoring case), repeated: {', '.join(dupes)}")
        return labels


def system_prompt(config: ClassifyConfig, as_json: bool) -> str:
    lines = ["Classify the user's text into exactly one of these labels:"]
    lines += [f"- {label}" + (f": {config.descriptions[label]}" if config.descriptions.get(label) else "")
              for label in config.labels]
    if config.instructions:
        lines.append(config.instructions)
    lines.append('Reply with JSON: {"label": <one of the labels>, "confidence": <0 to 1>}.' if as_json
                 else "Reply with the label only, nothing else.")
    return "\n".join(lines)


def match_label(text: str, labels: list[str]) -> str:
    answer = text.strip().strip("\"'`.").strip().lower()
    for label in labels:
        if label.strip().lower() == answer:
            return label
    shown = text.strip()[:200]
    raise ModelOutputInvalid(f"the reply {shown!r} is not one of the labels {', '.join(labels)}",
                             detail={"validation_error": "not a label", "reply": text[:2000]})


def label_probability(reply: ChatReply, label: str) -> float:
    """The probability of the tokens that spell the label (their log-probabilities summed)."""
    assert reply.logprobs is not None
    total, spelled = 0.0, ""
    for token in reply.logprobs:
        total += float(token["logprob"])
        spelled += str(token["token"])
        if len(spelled.strip().strip("\"'`")) >= len(label):
            break
    return round(math.exp(total), 6)


class ClassifyNode(NodeKind):
    kind = "classify"
    title = "Classifier"
    description = "A chat model picks one of a set of labels, with its confidence."
    category = "model"
    Config = ClassifyConfig
    inputs = (port("text", "string"),)
    outputs = (port("label", "string"), port("confidence", "number"), port("usage", "object"))

    def input_ports(self, config: ClassifyConfig) -> tuple[PortSpec, ...]:
        return tuple(port(name, config.variable_types.get(name, "object" if dotted else "string"))
                     for name, dotted in variables(config.prompt).items())

    def output_ports(self, config: ClassifyConfig) -> tuple[PortSpec, ...]:
        return (port("label", "string", description=" | ".join(config.labels)),
                port("confidence", "number", description="0 to 1"),
                port("usage", "object", description="provider, model, tokens_in, tokens_out, cost"))

    def check(self, config: ClassifyConfig, registry: Registry) -> list[tuple[str, str]]:
        problems = check_model_config(LLMConfig(provider=config.provider, model=config.model))
        unknown = sorted(set(config.descriptions) - set(config.labels))
        if unknown:
            problems.append(("invalid_config", f"config.descriptions: not labels: {', '.join(unknown)}"))
        return problems

    def cache_identity(self, runtime: ClassifyConfig) -> Any:
        return model_identity(runtime.provider, runtime.model)

    def request(self, config: ClassifyConfig, model: str, inputs: Mapping[str, Any], as_json: bool) -> ChatRequest:
        from graphflow.llm_call import ChatRequest

        messages = [{"role": "system", "content": system_prompt(config, as_json)},
                    {"role": "user", "content": render(config.prompt, inputs)}]
        if as_json:
            schema = {"type": "object", "additionalProperties": False, "required": ["label", "confidence"],
                      "properties": {"label": {"type": "string", "enum": config.labels},
                                     "confidence": {"type": "number", "minimum": 0, "maximum": 1}}}
            return ChatRequest(model, messages, 0.0, 100, response_format={
                "type": "json_schema", "json_schema": {"name": "classification", "schema": schema}})
        longest = max(len(label) for label in config.labels)
        return ChatRequest(model, messages, 0.0, max(4, longest // 2 + 4), logprobs=5)

    async def run(self, config: ClassifyConfig, inputs: dict[str, Any], ctx: NodeContext) -> dict[str, Any]:
        result = await self.answer(config, inputs, ctx)
        if config.min_confidence is not None and result["confidence"] < config.min_confidence:
            raise ModelUnsure(f"the model's answer {result['label']!r} has confidence {result['confidence']:g}, "
                              f"below min_confidence {config.min_confidence:g}",
                              detail={"label": result["label"], "confidence": result["confidence"]})
        return result

    async def answer(self, config: ClassifyConfig, inputs: dict[str, Any], ctx: NodeContext) -> dict[str, Any]:
        provider = get_provider(config.provider)
        model = config.model or provider.default_model
        spent: list[Usage] = []
        cascade = config.cascade
        if cascade is None:
            label, confidence = await self.classify(config, provider, model, inputs, ctx, spent)
            return self.result(label, confidence, spent)
        try:
            label, confidence = await self.classify(config, provider, model, inputs, ctx, spent)
            if cascade.min_confidence is None or confidence >= cascade.min_confidence:
                return self.result(label, confidence, spent, provider, cascade, len(spent))
        except ModelOutputInvalid:
            pass  # not a label, or a bad JSON reply: the larger model decides
        cheap_calls = len(spent)
        label, confidence = await self.classify(config, provider, cascade.model, inputs, ctx, spent)
        return self.result(label, confidence, spent, provider, cascade, cheap_calls)

    async def classify(self, config: ClassifyConfig, provider: Provider, model: str, inputs: Mapping[str, Any],
                       ctx: NodeContext, spent: list[Usage]) -> tuple[str, float]:
        """One model's label and confidence; each call's usage is appended to ``spent`` (kept
        when the answer is invalid, so a cascade still counts it)."""
        if config.method != "json":
            reply, usage = await call_model(provider, model, self.request(config, model, inputs, False), ctx, False)
            spent.append(usage)
            if reply.logprobs:
                label = match_label(reply.text, config.labels)
                return label, label_probability(reply, label)
            if config.method == "logprobs":
                raise ModelOutputInvalid(f"provider {provider.name!r} sent no log-probabilities "
                                         "(method 'auto' asks for a JSON reply then)")
        request = self.request(config, model, inputs, True)
        reply, usage = await call_model(provider, model, request, ctx, False)
        spent.append(usage)
        assert request.response_format is not None
        data = parse_structured(reply.text, request.response_format["json_schema"]["schema"])
        return data["label"], float(data["confidence"])

    @staticmethod
    def result(label: str, confidence: float, spent: list[Usage], provider: Provider | None = None,
               cascade: Cascade | None = None, cheap_calls: int = 0) -> dict[str, Any]:
        if cascade is not None and provider is not None:
            usage = {**cascade_usage(provider, cascade, [u.as_dict() for u in spent], cheap_calls),
                     "calls": len(spent)}
            return {"label": label, "confidence": confidence, "usage": usage}
        usage = {"provider": spent[-1].provider, "model": spent[-1].model, "calls": len(spent),
                 "tokens_in": sum(u.tokens_in for u in spent), "tokens_out": sum(u.tokens_out for u in spent),
                 "cost": sum(u.cost for u in spent)}
        return {"label": label, "confidence": confidence, "usage": usage}


__all__ = ["ClassifyConfig", "ClassifyNode", "label_routes"]


def label_routes(labels: list[str]) -> list[dict[str, str]]:
    """Router routes for a classifier's labels, one port per label: what a router wired to its
    ``label`` output is given (``value == "refund"`` -> port ``refund``)."""
    routes: list[dict[str, str]] = []
    taken: set[str] = set()
    for label in labels:
        base = re.sub(r"[^A-Za-z0-9_]", "_", label.strip())[:60] or "label"
        if not re.match(r"[A-Za-z_]", base):
            base = "_" + base
        name, n = base, 2
        while name in taken:
            name, n = f"{base}_{n}", n + 1
        taken.add(name)
        routes.append({"port": name, "when": f"value == {json.dumps(label)}"})
    return routes
