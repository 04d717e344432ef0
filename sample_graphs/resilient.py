"""Handlers of the resilience demo (``resilience_demo.json``): answer a customer question
although the main knowledge service is down.

- ``primary`` asks the live knowledge service. It is retried (3 attempts, tiny backoff)
  and guarded by the circuit breaker ``primary-api`` (opens after 3 consecutive failures,
  lets a probe through after 30 s).
- When ``primary`` fails for good, its ``error`` port carries the failure to ``backup``,
  which answers from a snapshot table (older, and without every topic).
- A ``first_success`` join takes whichever of the two answered.
- ``enrich`` (sentiment of the question) is optional: its service always times out, so
  the run goes on with its default output ``{"sentiment": "unknown"}`` and reports the
  node as degraded.

The simulated primary service is up only for questions that contain the word
``healthy``: failures depend on the input alone, never on state kept between runs, so
every run of the same question behaves the same (the breaker is the engine's, shared
through its ``BreakerRegistry``).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import anyio.lowlevel

if TYPE_CHECKING:
    from graphflow.registry import Registry

PREFIX = "samples.resilient"
HEALTHY_MARKER = "healthy"
"""A question containing this word finds the primary service up."""
PRIMARY_ERROR = "primary source unavailable"
ENRICH_ERROR = "enrichment service timed out"
BACKUP_AS_OF = "2026-02-01"
"""When the backup snapshot was taken."""

TOPICS: dict[str, tuple[str, ...]] = {
    "shipping": ("ship", "shipping", "shipped", "delivery", "deliver", "arrive", "tracking"),
    "returns": ("return", "returns", "refund", "exchange"),
    "warranty": ("warranty", "guarantee", "repair", "broken"),
    "hours": ("hours", "open", "opening", "closed", "weekend"),
    "pricing": ("price", "prices", "pricing", "cost", "discount", "plan"),
}
"""Keywords of each topic; the topic with the most matches wins (ties: the earlier one)."""

PRIMARY_ANSWERS: dict[str, str] = {
    "shipping": "Orders ship within 1 business day; standard delivery takes 2-4 days and tracking is emailed.",
    "returns": "You can return any item within 30 days for a full refund; the return label is free.",
    "warranty": "Every device has a 2-year warranty; repairs are free and take about 5 days.",
    "hours": "Support is open Monday to Saturday, 8:00-20:00 CET.",
    "pricing": "Plans start at 9 EUR a month; yearly billing saves 20%.",
}
"""The live knowledge service."""

BACKUP_ANSWERS: dict[str, str] = {
    "shipping": "Orders ship within 2 business days; standard delivery takes 3-5 days.",
    "returns": "Items can be returned within 30 days for a refund.",
    "warranty": "Devices come with a 2-year warranty.",
    "hours": "Support is open Monday to Friday, 9:00-18:00 CET.",
}
"""The backup snapshot: older answers, and no pricing (prices change too often to cache)."""

FALLBACK_TEXT = "No article matches this question; a support agent will reply by email."

_WORD = re.compile(r"[a-z0-9]+")


class NoCachedAnswer(LookupError):
    """The backup snapshot has no answer for the question's topic."""


def topic_of(query: str) -> str | None:
    words = _WORD.findall(query.lower())
    scores = [(sum(words.count(k) for k in keywords), topic) for topic, keywords in TOPICS.items()]
    best = max(scores, key=lambda s: s[0])
    return best[1] if best[0] else None


async def fetch_primary(query: str) -> dict[str, Any]:
    """The live answer; raises ``ConnectionError`` while the simulated service is down."""
    await anyio.lowlevel.checkpoint()  # stand-in for the network round trip
    if HEALTHY_MARKER not in _WORD.findall(query.lower()):
        raise ConnectionError(PRIMARY_ERROR)
    topic = topic_of(query)
    return {"source": "primary", "query": query, "topic": topic,
            "answer": PRIMARY_ANSWERS[topic] if topic else FALLBACK_TEXT, "as_of": "live"}


def fetch_backup(failure: dict[str, Any] | str) -> dict[str, Any]:
    """The answer from the backup snapshot. Takes the primary's failure (its ``error`` port:
    ``{"error_type", "message", "node_id", "input"}``) or the question itself."""
    if isinstance(failure, dict):
        query = str(failure.get("input", ""))
        reason = f"{failure.get('error_type')}: {failure.get('message')}"
    else:
        query, reason = str(failure), None
    topic = topic_of(query)
    if topic not in BACKUP_ANSWERS:
        raise NoCachedAnswer(f"the backup snapshot has no answer for {topic or 'this question'!r}")
    return {"source": "backup", "query": query, "topic": topic, "answer": BACKUP_ANSWERS[topic],
            "as_of": BACKUP_AS_OF, "stale": True, "fallback_reason": reason}


async def enrich(query: str) -> dict[str, Any]:
    """Sentiment of the question from the enrichment service, which always times out here."""
    await anyio.lowlevel.checkpoint()
    raise TimeoutError(ENRICH_ERROR)


def combine(gathered: dict[str, Any]) -> dict[str, Any]:
    """The final answer: the chosen source's answer plus the enrichment (or its default)."""
    chosen = gathered["fallback"]
    return {**chosen["value"], "source": chosen["source"], "enrichment": gathered["enrich"]}


def register(registry: Registry) -> None:
    for fn in (fetch_primary, fetch_backup, enrich, combine):
        registry.register_function(f"{PREFIX}.{fn.__name__}", fn, non_blocking=True)
