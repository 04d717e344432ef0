"""The human review node: a person approves, edits, rejects or labels a proposal, or takes over.

A confident proposal (its confidence at least ``threshold``, nothing in ``review_when``) passes
straight through. Otherwise the node waits for a decision (``graphflow.waits``): the store makes
a review item of the wait (the proposal, its context, why, the confidence) and a reviewer decides
it from the inbox, the CLI or the API; the run continues with the decision, in whichever process
holds it then. ``graphflow.review`` says which decisions each variant takes.

Ports: ``out`` carries what continues (the proposal approved or passed, the edited value, the
label, the answer); ``rejected`` is emitted instead on a rejection (``on_reject: route``) and
``escalated`` when the review timed out (``on_timeout: escalate``), so the branches behind the
others are skipped; ``decision`` is always emitted (``decision``, ``value``, ``reason``, ``by``,
``at``, ``reviewed``), for a router or a log.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal, cast

from pydantic import Field, model_validator

from graphflow.errors import NodeError
from graphflow.expressions import parse_expression
from graphflow.nodes.base import NodeConfig, NodeContext, NodeKind, port
from graphflow.nodes.routing import expression_scope
from graphflow.review import Variant, check_decision, decided_value
from graphflow.waits import Wait, Wake, review_item_id

MAX_TIMEOUT = 366 * 86_400.0


class ReviewRejected(NodeError):
    """A reviewer rejected the proposal and the node's ``on_reject`` is ``fail``; never retried."""

    retryable = False


class ReviewConfig(NodeConfig):
    variant: Variant = "review"
    """approval: approve or reject; review: approve, edit or reject; label: the reviewer gives the
    correct label (stored for training); escalation: a person writes the answer."""
    threshold: float | None = Field(default=None, ge=0, le=1)
    """Proposals whose confidence is at least this pass without review; none: every proposal is reviewed."""
    confidence_field: str = Field(default="confidence", pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
    """The input's field holding the confidence (0 to 1), e.g. ``confidence`` of a classifier's output."""
    proposal_field: str = Field(default="", pattern=r"^([A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*)?$")
    """The input's field that is the proposal (e.g. ``label``); empty: the whole input."""
    review_when: str = ""
    """Optional safe expression over the input (e.g. ``amount > 500``): true always asks a person."""
    reason: str = Field(default="", max_length=64)
    """Why items are queued, for the inbox's filter; empty: low_confidence, model_uncertainty
    (no confidence), high_value (``review_when``), escalation or review."""
    labels: list[str] = Field(default_factory=list, max_length=200)
    """The labels a reviewer picks from (label variant); empty: any label."""
    timeout: float | None = Field(default=None, gt=0, le=MAX_TIMEOUT)
    """Seconds a review may wait (counted from the node's first start, across restarts); none: forever."""
    on_timeout: Literal["escalate", "approve", "reject"] = "escalate"
    """When the review times out: emit ``escalated``, or decide approve or reject."""
    on_reject: Literal["route", "fail"] = "route"
    """On a rejection: emit ``rejected`` (a graph routes on it), or fail the node."""

    @model_validator(mode="after")
    def _labels(self) -> ReviewConfig:
        if self.labels and self.variant != "label":
            raise ValueError("labels are for the label variant")
        if len(set(self.labels)) != len(self.labels) or any(not x.strip() for x in self.labels):
            raise ValueError("labels must be distinct and not empty")
        return self


def field_of(value: Any, path: str) -> Any:
    """``a.b`` of an object value; None where missing."""
    for name in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = cast("Mapping[str, Any]", value).get(name)
    return value


def confidence_of(value: Any, path: str) -> float | None:
    found = field_of(value, path)
    if isinstance(found, bool) or not isinstance(found, int | float):
        return None
    return float(found)


def review_reason(config: ReviewConfig, value: Any, confidence: float | None) -> str | None:
    """Why the input needs a person, or None: it passes."""
    found: str | None = None
    if config.variant == "escalation":
        found = "escalation"
    elif config.review_when and parse_expression(config.review_when).evaluate(expression_scope(value)):
        found = "high_value"
    elif config.threshold is not None:
        if confidence is None:
            found = "model_uncertainty"
        elif confidence < config.threshold:
            found = "low_confidence"
    elif not config.review_when:
        found = "review"
    return None if found is None else (config.reason or found)


class ReviewNode(NodeKind):
    kind = "review"
    title = "Human review"
    description = "A person approves, edits, rejects or labels the proposal (confident ones pass); the run waits."
    category = "patterns"
    Config = ReviewConfig
    inputs = (port("in", description="The proposal (or an object holding it and its confidence)."),
              port("context", required=False, description="What the reviewer sees beside the proposal."))
    outputs = (port("out"), port("rejected", "object"), port("escalated", "object"), port("decision", "object"))

    def may_wait(self, config: ReviewConfig) -> bool:
        return True

    def expressions(self, config: ReviewConfig) -> Iterable[tuple[str, str]]:
        return [("review_when", config.review_when)] if config.review_when else []

    async def run(self, config: ReviewConfig, inputs: dict[str, Any], ctx: NodeContext) -> dict[str, Any] | Wait:
        value = inputs.get("in")
        proposal = field_of(value, config.proposal_field) if config.proposal_field else value
        confidence = confidence_of(value, config.confidence_field)
        reason = review_reason(config, value, confidence)
        if reason is None:
            return {"out": proposal, "decision": {"decision": "pass", "value": proposal, "reason": "", "by": "",
                                                  "at": ctx.clock.time(), "reviewed": False,
                                                  "confidence": confidence}}
        context = inputs.get("context") if "context" in inputs else (value if config.proposal_field else None)
        detail: dict[str, Any] = {"proposal": proposal, "context": context, "reason": reason,
                                  "confidence": confidence, "variant": config.variant, "labels": list(config.labels)}
        if ctx.wake is None:
            due = ctx.started_at + config.timeout if config.timeout is not None else None
            return Wait("decision", key=review_item_id(ctx.run_id, ctx.node_id), due_at=due, detail=detail)
        return self.woken(config, detail, ctx.wake)

    def woken(self, config: ReviewConfig, detail: dict[str, Any], wake: Wake) -> dict[str, Any]:
        proposal = detail["proposal"]
        if wake.kind == "timer":
            if config.on_timeout == "escalate":
                record = {"decision": "escalate", "value": proposal, "reason": "timeout", "by": wake.by or "timer",
                          "at": wake.at, "reviewed": False}
                return {"escalated": {"proposal": proposal, "context": detail["context"], "reason": "timeout"},
                        "decision": record}
            reason = "timed out" if config.on_timeout == "reject" else ""
            decision = {"decision": config.on_timeout, "reason": reason}
            by, reviewed = wake.by or "timer", False
        else:
            try:
                decision = check_decision(detail, wake.data)
            except ValueError as exc:
                raise ReviewRejected(f"the decision does not fit this review: {exc}") from None
            by, reviewed = wake.by, True
        record = {**decision, "by": by, "at": wake.at, "reviewed": reviewed}
        if decision["decision"] == "reject":
            if config.on_reject == "fail":
                raise ReviewRejected(f"rejected by {by or 'a reviewer'}: {decision['reason']}")
            record["value"] = proposal
            return {"rejected": {"proposal": proposal, "reason": decision["reason"], "by": by}, "decision": record}
        record["value"] = decided_value(detail, decision)
        return {"out": record["value"], "decision": record}
