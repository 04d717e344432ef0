"""One node's attempts: cache, circuit breaker, timeout, retries with backoff.

Runs inside the node's task and reports to the run loop through messages; the loop
turns them into events (it alone owns the sequence numbers). Decisions about delays and
breaker states come from ``resilience.py``; this module only carries them out.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from typing import Any

import anyio
from pydantic_core import PydanticSerializationError, to_jsonable_python

from graphflow.clock import Clock
from graphflow.compile import CompiledNode
from graphflow.errors import NodeOutputError, NodeRaisedBaseException, NodeTimeout
from graphflow.failures import trimmed_traceback
from graphflow.mailbox import Mailbox
from graphflow.nodes.base import NodeContext
from graphflow.outputs import check_output
from graphflow.plan import ErrorInfo
from graphflow.policies import RetryPolicy
from graphflow.ports import KeyValueStore
from graphflow.resilience import (
    BreakerOpen,
    BreakerRegistry,
    CircuitBreaker,
    Permit,
    StateChange,
    backoff_delay,
    should_retry,
)
from graphflow.waits import Wait

NO_RETRY = RetryPolicy()
NEVER_RETRIED = frozenset({"NodeOutputError", "NonFiniteOutput", "OutputTooLarge", "BreakerOpen"})
CACHE_NAMESPACE = "cache"
MAX_RETRY_AFTER = 3600.0
"""Seconds of a server's Retry-After that a retry waits at most (a larger one is not waited out)."""


@dataclass(slots=True)
class Done:
    node_id: str
    ok: bool
    payload: Any
    duration: float
    attempt: int
    cost: float = 0.0
    tokens: int = 0
    cached: bool = False


@dataclass(slots=True)
class Retrying:
    node_id: str
    attempt: int
    delay: float
    error: ErrorInfo
    duration: float


@dataclass(slots=True)
class AttemptStarted:
    node_id: str
    attempt: int


@dataclass(slots=True)
class BreakerChanges:
    node_id: str
    changes: list[StateChange]


@dataclass(slots=True)
class Progress:
    node_id: str
    done: int
    failed: int
    total: int
    results: dict[str, Any] | None = None


@dataclass(slots=True)
class TextSoFar:
    """A streaming node's text so far (throttled by the runner's reporter)."""

    node_id: str
    text: str


@dataclass(slots=True)
class Nested:
    """A nested event of a running node (an agent's step or tool call) to publish; ``durable``
    is set once the event is durable (the node waits for it)."""

    node_id: str
    event: type[Any]
    fields: dict[str, Any]
    durable: anyio.Event


def jsonable(output: Any) -> dict[str, Any]:
    if not isinstance(output, dict):
        raise NodeOutputError(f"a node must return a dict of port values, not {type(output).__name__}")
    try:
        data: dict[str, Any] = to_jsonable_python(output)
    except PydanticSerializationError as exc:
        raise NodeOutputError(f"output is not JSON data: {exc}") from None
    check_output(data)
    return data


def checked(result: Any) -> dict[str, Any] | Wait:
    """A node's output as JSON data, or the ``Wait`` it returned instead (``graphflow.waits``)."""
    return result if isinstance(result, Wait) else jsonable(result)


def error_info(node_id: str, exc: BaseException) -> ErrorInfo:
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]  # a handler's own task group: report the real error
    trace = trimmed_traceback(exc)
    if not isinstance(exc, Exception):
        exc = NodeRaisedBaseException(exc)
    if isinstance(exc, NodeRaisedBaseException):
        return ErrorInfo(exc.original_type, str(exc), node_id, trace)
    detail = getattr(exc, "detail", None)
    return ErrorInfo(type(exc).__name__, str(exc) or type(exc).__name__, node_id, trace,
                     detail if isinstance(detail, dict) else None)


def is_cancellation(exc: BaseException) -> bool:
    """The run (or this node) being cancelled: the one BaseException that must pass through."""
    if isinstance(exc, BaseExceptionGroup):
        return all(is_cancellation(e) for e in exc.exceptions)
    return isinstance(exc, anyio.get_cancelled_exc_class())


async def run_node(node: CompiledNode, inputs: dict[str, Any], ctx: NodeContext) -> Any:
    """The node's own code. Its SystemExit, KeyboardInterrupt, GeneratorExit... become an
    ordinary failure here, inside its task: asyncio re-raises the first two out of the
    event loop itself, which would take the process (or a server) down."""
    try:
        return await node.kind.run(node.runtime, inputs, ctx)
    except Exception:
        raise
    except BaseException as exc:
        if is_cancellation(exc):
            raise
        raise NodeRaisedBaseException(exc) from None


def cache_key(node: CompiledNode, inputs: dict[str, Any]) -> str:
    identity = node.kind.cache_identity(node.runtime)
    body = json.dumps([node.spec.kind, node.spec.config, inputs, identity], sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def attempt_error(node_id: str, exc: Exception, last: ErrorInfo | None) -> ErrorInfo:
    """What a failed attempt records; an open breaker's error names the failure that opened it."""
    error = error_info(node_id, exc)
    if isinstance(exc, BreakerOpen) and last is not None:  # keep the cause in sight
        error = ErrorInfo(error.type, f"{error.message} (last error: {last.type}: {last.message})", node_id,
                          last.traceback, last.detail)
    return error


class Attempts:
    """Shared by the node tasks of one run."""

    def __init__(self, clock: Clock, breakers: BreakerRegistry, cache: KeyValueStore | None,
                 rng: random.Random, send: Mailbox) -> None:
        self.clock = clock
        self.breakers = breakers
        self.cache = cache
        self.rng = rng
        self.send = send

    async def execute(self, node: CompiledNode, inputs: dict[str, Any], ctx: NodeContext,
                      retry_at: float | None = None) -> None:
        """Run the node and send its ``Done``. A cancelled node sends nothing: its worker does."""
        spec = node.spec
        t0 = self.clock.monotonic()
        if node.plain and retry_at is None:
            # One attempt, no policies: the common case, kept short because it is hot.
            try:  # the node's own code awaited here, not through run_node: a coroutine fewer
                output = checked(await node.kind.run(node.runtime, inputs, ctx))
                done = Done(node.id, True, output, self.clock.monotonic() - t0, ctx.attempt, ctx.cost, ctx.tokens)
            except BaseException as exc:  # SystemExit... from the node fails it too, as in run_node
                if is_cancellation(exc):
                    raise
                done = Done(node.id, False, error_info(node.id, exc), self.clock.monotonic() - t0, ctx.attempt,
                            ctx.cost, ctx.tokens)
            self.send.send_nowait(done)
            return
        if retry_at is not None and retry_at > self.clock.time():  # a backoff persisted before a crash
            await self.clock.sleep(retry_at - self.clock.time())
        key = None
        if spec.cache is not None and spec.cache.enabled and self.cache is not None:
            key = cache_key(node, inputs)
            hit = await self.cache.get(CACHE_NAMESPACE, key, now=self.clock.time())
            if hit is not None:
                self.send.send_nowait(Done(node.id, True, hit, self.clock.monotonic() - t0, ctx.attempt, cached=True))
                return
        done = await self.attempt_loop(node, inputs, ctx)
        if done.ok and key is not None and self.cache is not None and spec.cache is not None \
                and not isinstance(done.payload, Wait):
            await self.cache.put(CACHE_NAMESPACE, key, done.payload, expires_at=self.clock.time() + spec.cache.ttl)
        self.send.send_nowait(done)

    def cancelled(self, node: CompiledNode, inputs: dict[str, Any], ctx: NodeContext,
                  retry_at: float | None = None) -> None:
        """The worker's report for a node cancelled in flight (the loop drops its result)."""
        self.send.send_nowait(Done(node.id, False, None, 0.0, ctx.attempt))

    async def attempt_loop(self, node: CompiledNode, inputs: dict[str, Any], ctx: NodeContext) -> Done:
        policy = node.spec.retry or NO_RETRY
        breaker = self.breakers.get(node.spec.breaker) if node.spec.breaker is not None else None
        timeouts = [t for t in (node.spec.timeout, policy.attempt_timeout) if t is not None]
        timeout = min(timeouts) if timeouts else None
        last_error: ErrorInfo | None = None
        while True:
            t0 = self.clock.monotonic()
            try:
                output = await self.attempt(node, inputs, ctx, breaker, timeout)
                return Done(node.id, True, output, self.clock.monotonic() - t0, ctx.attempt, ctx.cost, ctx.tokens)
            except Exception as exc:
                last_error = error = attempt_error(node.id, exc, last_error)
                duration = self.clock.monotonic() - t0
                delay = self.retry_delay(policy, exc, error, ctx.attempt)
                if delay is None:
                    return Done(node.id, False, error, duration, ctx.attempt, ctx.cost, ctx.tokens)
                self.send.send_nowait(Retrying(node.id, ctx.attempt, delay, error, duration))
                await self.clock.sleep(delay)
                ctx.attempt += 1
                self.send.send_nowait(AttemptStarted(node.id, ctx.attempt))
            finally:
                if breaker is not None and (changes := breaker.take_changes()):
                    self.send.send_nowait(BreakerChanges(node.id, changes))

    async def attempt(self, node: CompiledNode, inputs: dict[str, Any], ctx: NodeContext,
                      breaker: CircuitBreaker | None, limit: float | None) -> Any:
        """One call of the node, through its breaker (``BreakerOpen`` while open)."""
        permit: Permit | None = breaker.acquire() if breaker is not None else None
        try:
            output = checked(await self.call(node, inputs, ctx, limit))
        except Exception:
            if permit is not None and permit.settled is None:
                permit.failure()
            raise
        except BaseException:  # cancelled: not the resource's fault
            if permit is not None and permit.settled is None:
                permit.release()
            raise
        if permit is not None:
            permit.success()
        return output

    def retry_delay(self, policy: RetryPolicy, exc: Exception, error: ErrorInfo, attempt: int) -> float | None:
        """Seconds to wait before the next attempt, or None when the failure is not retried."""
        retry = (not isinstance(exc, BreakerOpen) and error.type not in NEVER_RETRIED
                 and getattr(exc, "retryable", True) is not False  # e.g. a model server's 400
                 and should_retry(policy, getattr(exc, "original", exc), attempt))
        if not retry:
            return None
        delay = backoff_delay(policy, attempt, self.rng)
        asked = getattr(exc, "retry_after", None)  # a server's Retry-After: never sooner
        if isinstance(asked, int | float) and asked > delay:
            delay = min(float(asked), MAX_RETRY_AFTER)
        return delay

    async def call(self, node: CompiledNode, inputs: dict[str, Any], ctx: NodeContext,
                   limit: float | None) -> Any:
        """One attempt, failing with ``NodeTimeout`` after ``limit`` seconds of the run's clock."""
        if limit is None:
            return await run_node(node, inputs, ctx)
        output: Any = {}
        completed = False
        ctx.timeout, ctx.abandoned = limit, 0
        # Race the call against clock.sleep, so a fake clock can drive timeouts in tests.
        async with anyio.create_task_group() as tg:
            async def watchdog() -> None:
                await self.clock.sleep(limit)
                tg.cancel_scope.cancel()

            tg.start_soon(watchdog)
            output = await run_node(node, inputs, ctx)
            completed = True
            tg.cancel_scope.cancel()
        if not completed:
            raise NodeTimeout(limit, node_id=node.id, attempt=ctx.attempt, abandoned=ctx.abandoned)
        return output
