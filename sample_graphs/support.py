"""Handlers of the decision tree sample (``decision_tree.json``): customer inquiries.

Classify intent -> refund: check the order against the refund policy; technical:
search the knowledge base, answer or open a ticket; billing and anything else: a
reply. The handlers only compute facts (intent, days since purchase, prior refunds,
the best article); every decision is a router or condition expression in the graph,
so the canvas shows why a branch was taken.

"Today" comes from the inquiry (``today``, an ISO date) and defaults to ``TODAY``, so a
run's decisions never depend on the real date.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from graphflow.registry import Registry

PREFIX = "samples.support"
TODAY = "2026-03-01"
"""The date an inquiry is handled on when it does not say (keeps runs deterministic)."""

INTENT_KEYWORDS: dict[str, tuple[str, ...]] = {
    "refund": ("refund", "money back", "return", "returned", "reimburse"),
    "technical": ("error", "crash", "crashes", "bug", "not working", "broken", "login", "log in", "password",
                  "install", "sync", "freezes", "reset"),
    "billing": ("invoice", "billing", "billed", "charge", "charged", "payment", "subscription", "receipt"),
}
"""Keyword rules; the intent with the most matches wins, ties go to the earlier intent."""

ORDERS: dict[str, dict[str, Any]] = {
    "A-100": {"customer_id": "C001", "purchase_date": "2026-02-20", "total": 149.99, "item": "Headphones"},
    "A-101": {"customer_id": "C001", "purchase_date": "2026-02-10", "total": 1299.00, "item": "Laptop"},
    "A-102": {"customer_id": "C002", "purchase_date": "2025-12-01", "total": 89.00, "item": "Keyboard"},
    "A-103": {"customer_id": "C003", "purchase_date": "2025-11-15", "total": 45.50, "item": "Mouse"},
}

PRIOR_REFUNDS: dict[str, list[str]] = {
    "C001": [],
    "C002": ["R-11", "R-19", "R-27"],
    "C003": ["R-08"],
}
"""Refunds already granted, by customer."""

KNOWLEDGE_BASE: dict[str, dict[str, Any]] = {
    "KB-001": {
        "title": "Resetting your password",
        "keywords": ("password", "reset", "login", "locked"),
        "answer": "Use 'Forgot password' on the sign-in page; the reset link is valid for 30 minutes.",
    },
    "KB-002": {
        "title": "The app crashes on start",
        "keywords": ("crash", "crashes", "start", "startup", "launch"),
        "answer": "Update to the latest version, then clear the app cache under Settings > Storage.",
    },
    "KB-003": {
        "title": "Sync is stuck",
        "keywords": ("sync", "syncing", "stuck", "offline"),
        "answer": "Sign out and back in to restart sync; items edited offline are kept.",
    },
}
MIN_KB_SCORE = 2
"""Keywords an article must share with the message to count as an answer."""

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _count_phrase(words: list[str], phrase: str) -> int:
    parts = phrase.split()
    return sum(1 for i in range(len(words) - len(parts) + 1) if words[i:i + len(parts)] == parts)


def classify_intent(inquiry: dict[str, Any]) -> dict[str, Any]:
    """The inquiry plus ``intent`` (refund, technical, billing or other) and the
    keywords that decided it."""
    words = _words(str(inquiry.get("message", "")))
    best, best_hits = "other", []
    for intent, keywords in INTENT_KEYWORDS.items():
        hits = [k for k in keywords if _count_phrase(words, k)]
        if len(hits) > len(best_hits):
            best, best_hits = intent, hits
    return {**inquiry, "intent": best, "matched_keywords": best_hits}


def choose_intent(joined: dict[str, Any]) -> dict[str, Any]:
    """The inquiry plus ``intent``: the classifier model's label when it gave one, else the
    keyword rules' (``classify_intent``), with ``intent_by`` saying which and, for the rules,
    why the model did not decide (unreachable, unsure). ``joined`` is the best-effort join of
    the inquiry and the model's label."""
    results, errors = joined.get("results", {}), joined.get("errors", {})
    inquiry = results["inquiry"]
    label = results.get("model")
    if isinstance(label, str) and label:
        return {**inquiry, "intent": label, "intent_by": "model"}
    why = errors.get("model") or "the model gave no label"
    return {**classify_intent(inquiry), "intent_by": "rules", "model_error": why}


MODEL_LEXICON: dict[str, tuple[str, ...]] = {
    "refund": ("refund", "money back", "return", "reimburse", "send it back", "cancel my order", "broke", "damaged"),
    "technical": ("error", "crash", "bug", "not working", "broken", "login", "log in", "password", "install",
                  "sync", "freezes", "reset", "app", "button", "upload"),
    "billing": ("invoice", "billing", "billed", "charge", "charged", "payment", "subscription", "receipt",
                "price", "twice"),
}
"""The scripted stand-in model's vocabulary: wider than the keyword rules, and it says how sure it is."""


def model_intent_reply(body: dict[str, Any]) -> dict[str, Any]:
    """The scripted model's answer to a classifier's JSON request (``{label, confidence}``):
    the label with the most phrases of its vocabulary, sure when one label clearly leads,
    unsure (0.3) when nothing matched. What a real model does better, this only imitates."""
    schema = body["response_format"]["json_schema"]["schema"]
    labels: list[str] = schema["properties"]["label"]["enum"]
    text = next((str(m.get("content")) for m in reversed(body.get("messages", [])) if m.get("role") == "user"), "")
    words = _words(text)
    hits = {label: sum(_count_phrase(words, p) for p in MODEL_LEXICON.get(label, ())) for label in labels}
    total = sum(hits.values())
    fallback = "other" if "other" in labels else labels[-1]
    if not total:
        return {"text": json.dumps({"label": fallback, "confidence": 0.3})}
    best = max(labels, key=lambda label: hits[label])  # ties go to the earlier label
    return {"text": json.dumps({"label": best, "confidence": round(0.5 + 0.45 * hits[best] / total, 2)})}


def lookup_order(inquiry: dict[str, Any]) -> dict[str, Any]:
    """Add the order and how many days ago it was bought (as of the inquiry's ``today``)."""
    order_id = inquiry.get("order_id")
    if not order_id:
        raise ValueError("a refund request needs an order_id")
    order = ORDERS.get(order_id)
    if order is None:
        raise LookupError(f"order {order_id!r} not found")
    if order["customer_id"] != inquiry.get("customer_id"):
        raise PermissionError(f"order {order_id!r} does not belong to customer {inquiry.get('customer_id')!r}")
    today = date.fromisoformat(inquiry.get("today") or TODAY)
    days = (today - date.fromisoformat(order["purchase_date"])).days
    return {**inquiry, "order": {"order_id": order_id, **order}, "total": order["total"],
            "days_since_purchase": days}


def count_prior_refunds(inquiry: dict[str, Any]) -> dict[str, Any]:
    """Add ``prior_refunds``: how many refunds the customer already had."""
    return {**inquiry, "prior_refunds": len(PRIOR_REFUNDS.get(inquiry.get("customer_id", ""), []))}


def approve_refund(inquiry: dict[str, Any]) -> dict[str, Any]:
    """Leaf: refund the order in full."""
    return {"action": "auto_approve", "order_id": inquiry["order"]["order_id"],
            "refund_amount": inquiry["total"], "customer_id": inquiry.get("customer_id")}


def escalate(inquiry: dict[str, Any], reason: str) -> dict[str, Any]:
    """Leaf: hand the refund to a supervisor (``reason`` comes from the node's args)."""
    return {"action": "escalate", "reason": reason, "order_id": inquiry["order"]["order_id"],
            "customer_id": inquiry.get("customer_id"), "total": inquiry["total"],
            "days_since_purchase": inquiry["days_since_purchase"], "prior_refunds": inquiry.get("prior_refunds")}


def manual_review(inquiry: dict[str, Any], reason: str) -> dict[str, Any]:
    """Leaf: queue the refund for an agent."""
    return {"action": "manual_review", "reason": reason, "order_id": inquiry["order"]["order_id"],
            "customer_id": inquiry.get("customer_id"), "days_since_purchase": inquiry["days_since_purchase"]}


def search_knowledge_base(inquiry: dict[str, Any]) -> dict[str, Any]:
    """Add ``found`` and the best-matching ``article`` (most shared keywords, then lowest id)."""
    words = set(_words(str(inquiry.get("message", ""))))
    scored = sorted(((len(words & set(a["keywords"])), article_id) for article_id, a in KNOWLEDGE_BASE.items()),
                    key=lambda s: (-s[0], s[1]))
    score, article_id = scored[0]
    found = score >= MIN_KB_SCORE
    article = {"article_id": article_id, **KNOWLEDGE_BASE[article_id], "score": score} if found else None
    if article is not None:
        article["keywords"] = list(article["keywords"])
    return {**inquiry, "found": found, "article": article}


def answer_from_article(inquiry: dict[str, Any]) -> dict[str, Any]:
    """Leaf: answer with the knowledge-base article."""
    article = inquiry["article"]
    return {"action": "answer", "article_id": article["article_id"], "title": article["title"],
            "answer": article["answer"], "customer_id": inquiry.get("customer_id")}


def create_ticket(inquiry: dict[str, Any]) -> dict[str, Any]:
    """Leaf: open a support ticket; the id is derived from the inquiry, so it is stable."""
    digest = hashlib.sha256(f"{inquiry.get('customer_id')}|{inquiry.get('message')}".encode()).hexdigest()
    return {"action": "create_ticket", "ticket_id": f"TCK-{digest[:8].upper()}",
            "reason": "No knowledge-base article matched", "customer_id": inquiry.get("customer_id"),
            "priority": "normal"}


def reply(inquiry: dict[str, Any], team: str, text: str) -> dict[str, Any]:
    """Leaf: a canned reply from a team (``team`` and ``text`` come from the node's args)."""
    return {"action": "reply", "team": team, "message": text, "customer_id": inquiry.get("customer_id"),
            "intent": inquiry.get("intent")}


def register(registry: Registry) -> None:
    for fn in (classify_intent, choose_intent, lookup_order, count_prior_refunds, approve_refund, escalate,
               manual_review, search_knowledge_base, answer_from_article, create_ticket, reply):
        registry.register_function(f"{PREFIX}.{fn.__name__}", fn, non_blocking=True)
