"""Handlers of the support agent sample (``support_agent.json``): three tools, the sub-graph
tool's facts (``refund_eligibility.json``) and the scripted model that drives the agent when
no model server is configured (provider ``sample``).

The script plays a careful support model: it looks the order up and asks the sub-graph
whether a refund is allowed (two calls at once), then reads the policy for the item's
category and opens a ticket, then answers from what the tools said. Against a real model
(``GRAPHFLOW_LLM_BASE_URL``) the same tools are offered and the model decides.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from graphflow.nodes.base import NodeContext
    from graphflow.registry import Registry

PREFIX = "samples.support_agent"
TODAY = "2026-03-01"
"""The day the sample handles inquiries on, so its answers never depend on the real date."""

ORDERS: dict[str, dict[str, Any]] = {
    "A-100": {"customer": "Ana", "item": "Headphones", "category": "electronics", "total": 149.99,
              "purchased": "2026-02-20", "status": "delivered"},
    "A-101": {"customer": "Ana", "item": "Laptop", "category": "electronics", "total": 1299.00,
              "purchased": "2026-02-10", "status": "delivered"},
    "A-102": {"customer": "Ben", "item": "Desk lamp", "category": "home", "total": 39.00,
              "purchased": "2025-12-01", "status": "delivered"},
}
POLICIES: dict[str, dict[str, Any]] = {
    "electronics": {"window_days": 30, "max_auto_refund": 500, "note": "Unopened or faulty items only."},
    "home": {"window_days": 60, "max_auto_refund": 200, "note": "Any reason."},
    "other": {"window_days": 14, "max_auto_refund": 100, "note": "Ask an agent."},
}
_ORDER_ID = re.compile(r"\b[A-Z]-\d{3}\b")


def lookup_order(order_id: str) -> dict[str, Any]:
    """Look up an order: customer, item, category, total, purchase date and status.

    Args:
        order_id: The order's id, like A-100.
    """
    if order_id not in ORDERS:
        raise KeyError(f"no order {order_id}")
    return {"order_id": order_id, **ORDERS[order_id]}


def check_refund_policy(category: Literal["electronics", "home", "other"] = "other") -> dict[str, Any]:
    """The refund policy for a product category: the refund window and the largest automatic refund.

    Args:
        category: The product category (from the order).
    """
    return {"category": category, **POLICIES[category]}


def open_ticket(summary: str, ctx: NodeContext,
                priority: Literal["low", "normal", "high"] = "normal") -> dict[str, Any]:
    """Open a support ticket for a person to follow up.

    Args:
        summary: What the ticket is about, in one sentence.
        priority: How urgent it is.
    """
    # the ticket id comes from the call's idempotency key: a resumed run opens the same ticket
    ticket = "T-" + hashlib.sha256(ctx.idempotency_key.encode()).hexdigest()[:6].upper()
    return {"ticket": ticket, "priority": priority, "summary": summary}


def refund_facts(order_id: Any) -> dict[str, Any]:
    """The sub-graph's facts about an order: days since purchase, total, policy limits."""
    order = lookup_order(str(order_id))
    policy = POLICIES.get(order["category"], POLICIES["other"])
    days = (date.fromisoformat(TODAY) - date.fromisoformat(order["purchased"])).days
    return {"order_id": order["order_id"], "days": days, "total": order["total"], **policy}


def _results(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """Tool results since the last user message, by tool name."""
    start = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=0)
    names: dict[str, str] = {}
    found: dict[str, Any] = {}
    for message in messages[start:]:
        for call in message.get("tool_calls") or []:
            names[call["id"]] = call["function"]["name"]
        if message.get("role") == "tool":
            content = message.get("content") or ""
            try:
                found[names.get(message.get("tool_call_id", ""), "?")] = json.loads(content)
            except ValueError:
                found[names.get(message.get("tool_call_id", ""), "?")] = content
    return found


def script(body: dict[str, Any]) -> dict[str, Any]:
    """The scripted support model (see the module docstring); a classifier's request (the
    decision tree's) goes to the decision tree's scripted classifier."""
    if (body.get("response_format") or {}).get("json_schema", {}).get("name") == "classification":
        from graphflow.sample_graphs.support import model_intent_reply

        return model_intent_reply(body)
    messages: list[dict[str, Any]] = body.get("messages", [])
    question = next((str(m.get("content")) for m in reversed(messages) if m.get("role") == "user"), "")
    done = _results(messages)
    match = _ORDER_ID.search(question)
    if match is None:
        if "open_ticket" not in done:
            return {"tool_calls": [{"name": "open_ticket", "arguments": {"summary": question[:200]}}]}
        return {"text": f"I could not find an order number, so I opened ticket {done['open_ticket']['ticket']}; "
                        "a colleague will get back to you."}
    order_id = match.group(0)
    if "lookup_order" not in done:
        return {"tool_calls": [{"name": "lookup_order", "arguments": {"order_id": order_id}},
                               {"name": "refund_eligibility", "arguments": {"order_id": order_id}}]}
    order = done["lookup_order"]
    if not isinstance(order, dict) or "error" in order:
        return {"text": f"I could not find order {order_id}. Could you check the number?"}
    eligibility = (done.get("refund_eligibility") or {}).get("eligibility") or {}
    if "check_refund_policy" not in done:
        priority = "normal" if eligibility.get("eligible") else "high"
        return {"tool_calls": [
            {"name": "check_refund_policy", "arguments": {"category": order["category"]}},
            {"name": "open_ticket", "arguments": {"summary": f"Refund request for {order_id} ({order['item']})",
                                                  "priority": priority}}]}
    policy, ticket = done["check_refund_policy"], done.get("open_ticket") or {}
    verdict = ("qualifies for a refund" if eligibility.get("eligible")
               else "needs a person to review the refund")
    return {"text": f"Your {order['item']} (order {order_id}, {order['total']:.2f}) was bought "
                    f"{eligibility.get('days', '?')} days ago; our {policy['category']} policy allows refunds within "
                    f"{policy['window_days']} days up to {policy['max_auto_refund']}, so it {verdict}. "
                    f"Ticket {ticket.get('ticket', '?')} tracks it."}


def register(registry: Registry) -> None:
    import graphflow
    from graphflow.scripted_model import register_script

    for fn in (lookup_order, check_refund_policy, open_ticket):
        registry.register_function(f"{PREFIX}.{fn.__name__}", fn, non_blocking=True)
    registry.register_function(f"{PREFIX}.refund_facts", refund_facts, non_blocking=True)
    spec = graphflow.load_graph(Path(__file__).with_name("refund_eligibility.json"))
    registry.register_graph(spec, replace=True)
    register_script("support", script)
