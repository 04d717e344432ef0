"""Handlers of the loan application sample (``loan_application.json``): the on-enter actions
of its state machine.

- ``register`` (state ``submitted``) files the application and gives it a reference.
- ``request_documents`` (state ``info_needed``) writes to the applicant what is missing.
- ``make_offer`` (state ``approved``) prices the loan from the credit score.
- ``disburse`` (state ``funded``) pays the loan out. The simulated bank rejects the first
  transfer of every loan (its payment rail is closed), so the machine goes to
  ``funding_failed``; the transfer made by a ``retry`` goes through. It decides from the
  event that entered the state, never from state kept in the process, so a run continued
  in another process (``graphflow send``) behaves the same.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from graphflow.nodes.base import NodeContext
    from graphflow.registry import Registry

PREFIX = "samples.loan"
MIN_SCORE = 620
"""The lowest credit score the ``approve`` transition's guard lets through (in the graph)."""


def register_application(context: dict[str, Any]) -> dict[str, Any]:
    """File the application: a reference made from its content, the same on every run."""
    application = context.get("input") or {}
    digest = hashlib.sha256(repr(sorted(application.items())).encode()).hexdigest()[:8]
    return {"reference": f"LN-{digest.upper()}", "amount": application.get("amount")}


def request_documents(context: dict[str, Any]) -> dict[str, Any]:
    data = context.get("data") or {}
    missing = data.get("missing") if isinstance(data, dict) else None
    wanted = ", ".join(missing) if isinstance(missing, list) and missing else "the requested documents"
    name = (context.get("input") or {}).get("applicant", "applicant")
    return {"to": name, "message": f"Dear {name}, please send {wanted} within 14 days."}


def make_offer(context: dict[str, Any]) -> dict[str, Any]:
    application = context.get("input") or {}
    score = int(application.get("credit_score") or 0)
    rate = 4.9 if score >= 750 else 6.4 if score >= 680 else 8.9
    return {"amount": application.get("amount"), "rate_percent": rate, "term_months": 60}


class TransferRejected(ConnectionError):
    """The bank did not take the transfer; a later one may go through."""


def disburse(context: dict[str, Any], ctx: NodeContext) -> dict[str, Any]:
    """Pay the loan out under the transfer's idempotency key (the bank makes a key's transfer once)."""
    if context.get("event") != "retry":
        raise TransferRejected("the bank rejected the transfer: its payment rail is closed, retry later")
    application = context.get("input") or {}
    return {"paid": application.get("amount"), "transfer": ctx.idempotency_key}


def register(registry: Registry) -> None:
    registry.register_function(f"{PREFIX}.register_application", register_application, non_blocking=True)
    registry.register_function(f"{PREFIX}.request_documents", request_documents, non_blocking=True)
    registry.register_function(f"{PREFIX}.make_offer", make_offer, non_blocking=True)
    registry.register_function(f"{PREFIX}.disburse", disburse, non_blocking=True)
