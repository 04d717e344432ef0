"""Handlers of the support review sample (``support_review.json``): a classifier picks the
inquiry's topic, a reply is drafted for it, and a person reviews the reply unless the
classifier was sure (confidence at least 0.85); a review nobody decides in four hours goes to
a senior agent, who writes the answer.

Offline the classifier is the ``sample`` provider's scripted model (``support.model_intent_reply``):
sure when one topic's words clearly lead, less sure when the inquiry mixes topics.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from graphflow.nodes.base import NodeContext
    from graphflow.registry import Registry

PREFIX = "samples.support_review"
REPLIES = {
    "refund": "We are sorry about your order. We have started a refund; it reaches your account in 5 days.",
    "technical": "Sorry for the trouble. Please update the app to the latest version; if it persists, "
                 "reply with a screenshot and we will look into it.",
    "billing": "Thanks for letting us know. We have checked your account and will correct any wrong charge "
               "on your next invoice.",
    "other": "Thanks for your message. A colleague will get back to you within one working day.",
}


def draft_reply(message: str, label: str, confidence: float) -> dict[str, Any]:
    """The reply for the classifier's label, with the label and how sure the classifier was."""
    return {"message": message, "label": label, "confidence": confidence,
            "reply": REPLIES.get(label, REPLIES["other"])}


def send_reply(reply: str, ctx: NodeContext) -> dict[str, Any]:
    """Send the reply (simulated): the message id is the node's idempotency key, so a resumed
    run sends it once."""
    return {"sent": reply, "message_id": ctx.idempotency_key}


def register(registry: Registry) -> None:
    registry.register_function(f"{PREFIX}.draft_reply", draft_reply, non_blocking=True)
    registry.register_function(f"{PREFIX}.send_reply", send_reply, non_blocking=True)
