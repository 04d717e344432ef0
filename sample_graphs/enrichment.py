"""Handlers of the parallel enrichment sample (``parallel_enrichment.json``).

Fetch customer data from the CRM, order history from the ERP and support tickets from
the help desk at the same time, then combine them into one report. The CRM record is
required; orders and tickets are optional enrichment (a ``best_effort`` join), so an
ERP or help-desk outage gives a partial report instead of a failed run.

The three "services" are small tables here. The fetches are ``async`` and yield to the
event loop like a real client waiting on the network, so the engine runs them
concurrently. Some customers hit a simulated outage, which makes every failure path
reproducible.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import anyio.lowlevel

if TYPE_CHECKING:
    from graphflow.registry import Registry

PREFIX = "samples.enrichment"

CRM: dict[str, dict[str, Any]] = {
    "C001": {"id": "C001", "name": "Ada Lovelace", "email": "ada@example.com", "tier": "gold", "since": "2019-04-02"},
    "C002": {"id": "C002", "name": "Grace Hopper", "email": "grace@example.com", "tier": "silver",
             "since": "2021-11-15"},
    "C003": {"id": "C003", "name": "Alan Turing", "email": "alan@example.com", "tier": "bronze",
             "since": "2023-06-30"},
    "C004": {"id": "C004", "name": "Edsger Dijkstra", "email": "edsger@example.com", "tier": "bronze",
             "since": "2025-01-09"},
}

ERP_ORDERS: dict[str, list[dict[str, Any]]] = {
    "C001": [
        {"order_id": "SO-1001", "date": "2025-11-03", "total": 120.0, "status": "delivered"},
        {"order_id": "SO-1044", "date": "2026-01-18", "total": 89.5, "status": "delivered"},
        {"order_id": "SO-1102", "date": "2026-02-20", "total": 640.0, "status": "shipped"},
    ],
    "C002": [{"order_id": "SO-0950", "date": "2025-09-12", "total": 42.0, "status": "delivered"}],
    "C003": [{"order_id": "SO-1077", "date": "2026-02-01", "total": 310.25, "status": "delivered"}],
}

HELPDESK_TICKETS: dict[str, list[dict[str, Any]]] = {
    "C001": [
        {"ticket_id": "T-501", "subject": "Invoice address change", "status": "closed"},
        {"ticket_id": "T-533", "subject": "Late delivery of SO-1102", "status": "open"},
    ],
    "C002": [{"ticket_id": "T-480", "subject": "Password reset", "status": "closed"}],
}

ERP_OUTAGES: dict[str, str] = {"C002": "ERP timeout"}
"""Customers whose ERP shard is down: fetching their orders fails with this message."""

HELPDESK_OUTAGES: dict[str, str] = {"C003": "help desk returned 503 Service Unavailable"}
"""Customers whose ticket lookup fails."""


class CustomerNotFound(LookupError):
    """The CRM has no customer with this id."""


async def _network_round_trip() -> None:
    """Stand-in for waiting on a remote service: give the other fetches a turn."""
    await anyio.lowlevel.checkpoint()


async def fetch_crm(customer_id: str) -> dict[str, Any]:
    """The customer's CRM record (required: an unknown customer fails)."""
    await _network_round_trip()
    record = CRM.get(customer_id)
    if record is None:
        raise CustomerNotFound(f"customer {customer_id!r} not found in CRM")
    return dict(record)


async def fetch_erp_orders(customer_id: str) -> list[dict[str, Any]]:
    """The customer's orders from the ERP, newest first."""
    await _network_round_trip()
    if customer_id in ERP_OUTAGES:
        raise ConnectionError(ERP_OUTAGES[customer_id])
    orders = ERP_ORDERS.get(customer_id, [])
    return sorted(orders, key=lambda o: o["date"], reverse=True)


async def fetch_tickets(customer_id: str) -> list[dict[str, Any]]:
    """The customer's support tickets from the help desk, open ones first."""
    await _network_round_trip()
    if customer_id in HELPDESK_OUTAGES:
        raise TimeoutError(HELPDESK_OUTAGES[customer_id])
    tickets = HELPDESK_TICKETS.get(customer_id, [])
    return sorted(tickets, key=lambda t: (t["status"] != "open", t["ticket_id"]))


def combine(joined: dict[str, Any]) -> dict[str, Any]:
    """Build the report from a best-effort join: the CRM record plus whatever optional
    data arrived (missing parts default to empty lists) and which sources failed."""
    results = joined.get("results", {})
    errors = dict(joined.get("errors", {}))
    orders = results.get("erp") or []
    tickets = results.get("tickets") or []
    return {
        "customer": results["crm"],
        "orders": orders,
        "tickets": tickets,
        "summary": {
            "order_count": len(orders),
            "lifetime_value": round(sum((o["total"] for o in orders), 0.0), 2),
            "open_tickets": sum(1 for t in tickets if t["status"] == "open"),
        },
        "partial_failure": bool(errors),
        "errors": errors,
    }


def register(registry: Registry) -> None:
    for fn in (fetch_crm, fetch_erp_orders, fetch_tickets, combine):
        registry.register_function(f"{PREFIX}.{fn.__name__}", fn, non_blocking=True)
