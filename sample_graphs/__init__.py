"""Sample graphs and their handlers (registered through the graphflow.plugins entry point)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from graphflow.registry import Registry


def register(registry: Registry) -> None:
    """Register every sample's handlers (each module has its own ``register``)."""
    from graphflow.sample_graphs import (
        chain,
        enrichment,
        loan,
        resilient,
        support,
        support_agent,
        support_review,
        triage,
    )

    chain.register(registry)
    enrichment.register(registry)
    support.register(registry)
    support_agent.register(registry)
    triage.register(registry)
    resilient.register(registry)
    loan.register(registry)
    support_review.register(registry)
