"""Cascades (the ``llm`` and ``classify`` nodes): a cheaper model answers first; a larger one
only when the cheap answer is not good enough (its confidence below a threshold, or it failed
validation).

The usage output says which model answered, how many calls it took and the cost saved against
always calling the larger model (the larger model's price for the cheap call's tokens, less what
the cheap call cost; negative when the cheap call was wasted). ``graphflow stats`` sums it.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import Field

from graphflow.nodes.base import NodeConfig
from graphflow.providers import Provider


class Cascade(NodeConfig):
    model: str = Field(min_length=1)
    """The larger model, asked when the node's own (cheaper) model is not good enough."""
    min_confidence: float | None = Field(default=None, ge=0, le=1)
    """Below this confidence the larger model is asked; a reply without log-probabilities has no
    confidence and goes to the larger model too. Without it, only a reply that fails validation does."""


def reply_confidence(logprobs: list[dict[str, Any]] | None) -> float | None:
    """The geometric mean of the reply's token probabilities; None without log-probabilities."""
    if not logprobs:
        return None
    return round(math.exp(sum(float(t["logprob"]) for t in logprobs) / len(logprobs)), 6)


def cascade_usage(provider: Provider, cascade: Cascade, calls: list[dict[str, Any]],
                  cheap_calls: int = 1) -> dict[str, Any]:
    """The usage output of a cascaded node: totals, who answered, calls, and the cost saved.
    ``calls`` are the usages of every call in order, the first ``cheap_calls`` of them the cheap
    model's (a classifier may ask it twice: log-probabilities, then a JSON reply)."""
    cheap = calls[:cheap_calls]
    cheap_cost = sum(c["cost"] for c in cheap)
    if len(calls) == cheap_calls:
        tokens_in, tokens_out = sum(c["tokens_in"] for c in cheap), sum(c["tokens_out"] for c in cheap)
        saved = provider.cost(cascade.model, tokens_in, tokens_out) - cheap_cost
    else:
        saved = -cheap_cost
    return {"provider": provider.name, "model": calls[-1]["model"],
            "tokens_in": sum(c["tokens_in"] for c in calls), "tokens_out": sum(c["tokens_out"] for c in calls),
            "cost": sum(c["cost"] for c in calls),
            "cascade": {"answered_by": calls[-1]["model"], "calls": len(calls), "saved": round(saved, 9)}}
