"""Resilience policies: frozen data that lives in the graph JSON, one set per node.

Nothing here acts. ``resilience.py`` is the one place that interprets these models
(backoff arithmetic, retryability, breaker transitions); the runner only asks it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Policy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


MAX_ATTEMPTS = 100
MANY_ATTEMPTS = 10
MIN_DELAY_WHEN_MANY = 0.1
MAX_DELAY_SECONDS = 24 * 3600.0


class RetryPolicy(_Policy):
    """How often a failed node attempt is tried again, and how long to wait in between.

    Bounded so a graph cannot turn one node into a storm of attempts (and events): at most
    ``MAX_ATTEMPTS`` attempts, and past ``MANY_ATTEMPTS`` a base delay of at least
    ``MIN_DELAY_WHEN_MANY`` seconds; delays and timeouts at most a day."""

    max_attempts: int = Field(default=1, ge=1, le=MAX_ATTEMPTS)
    """Attempts in total, the first one included: 1 means no retry."""
    base_delay: float = Field(default=0.5, ge=0, le=MAX_DELAY_SECONDS)
    """Seconds of the backoff bound after the first failure; the bound doubles with each further failure."""
    max_delay: float = Field(default=30.0, ge=0, le=MAX_DELAY_SECONDS)
    """Cap, in seconds, on the backoff bound however many attempts failed."""
    jitter: Literal["full", "none"] = "full"
    """``full``: wait a uniform random time in [0, bound]; ``none``: wait exactly the bound."""
    retry_on: tuple[str, ...] = ()
    """Error type names that are retried, e.g. ``["ConnectionError", "TimeoutError", "NodeTimeout"]``.
    Empty: every error is retryable (except those in ``no_retry_on`` and an open breaker)."""
    no_retry_on: tuple[str, ...] = ()
    """Error type names that are never retried; wins over ``retry_on``."""
    attempt_timeout: float | None = Field(default=None, gt=0, le=MAX_DELAY_SECONDS)
    """Seconds one attempt may take before it fails with ``NodeTimeout``; None: no limit from this policy."""

    @model_validator(mode="after")
    def _paced_when_many(self) -> RetryPolicy:
        if self.max_attempts > MANY_ATTEMPTS and (self.base_delay < MIN_DELAY_WHEN_MANY
                                                  or self.max_delay < MIN_DELAY_WHEN_MANY):
            raise ValueError(f"more than {MANY_ATTEMPTS} attempts need base_delay and max_delay of at least "
                             f"{MIN_DELAY_WHEN_MANY}s (got {self.base_delay:g}s and {self.max_delay:g}s)")
        return self


class BreakerPolicy(_Policy):
    """A circuit breaker guarding one named resource, shared by every node and run that uses it."""

    name: str = Field(min_length=1, max_length=128)
    """The resource, e.g. ``"crm-api"``: the same name is the same breaker everywhere."""
    failure_threshold: int = Field(default=5, ge=1)
    """Consecutive failures that open the breaker."""
    failure_rate: float | None = Field(default=None, gt=0, le=1)
    """If set, also open when the failure rate over the last ``window`` calls is at least this (0..1]."""
    window: int = Field(default=20, ge=1)
    """Number of most recent calls the failure rate is measured over."""
    min_calls: int = Field(default=10, ge=1)
    """Calls that must be recorded in the window before the failure rate can open the breaker."""
    reset_timeout: float = Field(default=30.0, ge=0)
    """Seconds the breaker stays open before it lets probes through (half-open)."""
    half_open_max_probes: int = Field(default=1, ge=1)
    """Calls allowed through at the same time while half-open."""
    probe_timeout: float = Field(default=30.0, gt=0)
    """Seconds a half-open probe may stay unsettled before it counts as failed and reopens the breaker."""

    @model_validator(mode="after")
    def _min_calls_fit_window(self) -> BreakerPolicy:
        if self.failure_rate is not None and self.min_calls > self.window:
            raise ValueError(
                f"min_calls ({self.min_calls}) exceeds window ({self.window}): the failure rate could never open"
            )
        return self


class CachePolicy(_Policy):
    """Reuse a node's earlier output for the same inputs and config."""

    enabled: bool = False
    """Look results up before running the node and store them after it succeeds."""
    ttl: float = Field(default=3600.0, gt=0)
    """Seconds a stored result stays valid."""
