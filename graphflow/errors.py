"""Every error graphflow raises on purpose.

    GraphflowError
    ├── GraphValidationError     a graph file or spec was rejected (carries Problems)
    ├── RegistryError            unknown or duplicate node kind / function / plugin
    ├── RunInputError            run inputs do not match the graph's input nodes
    ├── StoreError               a store cannot be read or written (storage's StorageError)
    ├── LeaseHeld                another live process executes the run (names it, and when its lease expires)
    ├── LeaseLost                this process lost the lease of a run it was executing and stopped it
    ├── WakeRefused              an event or decision a run is not waiting for (or one already decided)
    ├── StoreNeeded              a graph whose nodes wait run by the engine alone (no store): refused at start
    ├── VersionConflict          a save over a graph that gained a newer version since the edit began
    ├── ExpressionError          (expressions.py) an expression does not parse or fails
    │   ├── ExpressionSyntaxError
    │   └── ExpressionEvalError
    └── NodeError                one node attempt failed (raised inside a run)
        ├── NodeTimeout          the attempt took longer than the node's timeout
        ├── NodeOutputError      the node returned something that is not JSON data
        ├── InputInvalid         an input does not fit its function parameter's model (names the field); never retried
        ├── BreakerOpen          (resilience.py) refused by an open circuit breaker; never retried
        ├── MapItemFailed        (nodes/map.py) a fail-fast map stopped at an item
        ├── WaitUnsupported      a node waited in a run that cannot wait (a bare Runner: no store)
        ├── AgentLimitExceeded   (nodes/agent.py) an agent reached max_steps, max_tokens or max_cost; never retried
        ├── ToolCallFailed       an agent's tool failed and its ``tool_errors`` is ``fail``
        ├── StateActionFailed    (nodes/state_actions.py) an on-enter action failed, with no error_state
        ├── MachineLimitExceeded (nodes/state_machine.py) a state machine took max_steps transitions; never retried
        ├── ModelCallFailed      a model server's error (``retryable``, ``retry_after``; HTTP status)
        │   ├── ModelRateLimited     HTTP 429: retried, no sooner than its Retry-After
        │   ├── ModelUnavailable     5xx, connection error, client timeout: retried
        │   ├── ModelRejected        other 4xx (bad request, bad key, unknown model): never retried
        │   ├── ModelOutputInvalid   the reply does not fit the structured-output schema: retried
        │   └── ModelUnsure          a classifier's confidence is below its min_confidence: never retried
        └── HttpRequestFailed    an HTTP request node's call failed (``retryable``, ``retry_after``, ``status``)
            ├── HttpRefused          the SSRF guard refused the address, or a bad URL/redirect: never retried
            ├── HttpUnavailable      connection error, 429 or 5xx: retried (429/5xx no sooner than Retry-After)
            │   └── HttpTimeout      no complete response within the node's ``timeout``
            ├── HttpRejected         another 4xx status: never retried
            └── HttpResponseTooLarge the body passed the node's ``max_bytes``: never retried

``NotFound`` (a ``LookupError``): a graph, version or run that a store does not have.

Errors raised by user handlers are not translated into this tree: the runner records
their type name and message on the node's failure event. Cancellation is control
flow, never an error.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any


class GraphflowError(Exception):
    """Base of every error raised by graphflow itself."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason a graph was rejected. ``code`` is stable; ``message`` is for people."""

    code: str
    message: str
    node_id: str | None = None
    edge_id: str | None = None
    path: str | None = None

    def __str__(self) -> str:
        where: list[str] = []
        if self.node_id is not None:
            where.append(f"node {self.node_id!r}")
        if self.edge_id is not None:
            where.append(f"edge {self.edge_id!r}")
        if self.path and not where:
            where.append(self.path)
        prefix = f"[{self.code}] " + (", ".join(where) + ": " if where else "")
        return prefix + self.message


@dataclass(eq=False)
class GraphValidationError(GraphflowError):
    problems: list[Problem] = field(default_factory=list[Problem])

    def __post_init__(self) -> None:
        super().__init__(str(self))

    @property
    def codes(self) -> list[str]:
        return [p.code for p in self.problems]

    def __str__(self) -> str:
        lines = [str(p) for p in self.problems[:20]]
        if len(self.problems) > 20:
            lines.append(f"... and {len(self.problems) - 20} more")
        return "invalid graph:\n  " + "\n  ".join(lines)


class RegistryError(GraphflowError):
    """An unknown or duplicate node kind, function or plugin."""


class RunInputError(GraphflowError):
    """Run inputs that the graph's input nodes do not accept."""


class StoreError(GraphflowError):
    """A store cannot be read or written (``graphflow.storage.StorageError`` is one)."""


@dataclass(eq=False)
class VersionConflict(GraphflowError):
    """Saving edits begun from ``base_version`` when the graph's latest version is ``latest``
    (another tab or process saved meanwhile): nothing was stored."""

    graph_id: str
    base_version: int
    latest: int

    def __post_init__(self) -> None:
        super().__init__(f"graph {self.graph_id!r}: version {self.latest} was saved after version "
                         f"{self.base_version}, which these edits started from")


class NotFound(LookupError):
    """A graph, version or run that does not exist (raised by stores; ``graphflow.ports``)."""


class SecretNotFound(GraphflowError, LookupError):
    """A node asked for a named secret (credential) that is not configured. The message names
    the secret, never a value. Not retried: a missing credential does not appear within a backoff."""

    retryable = False

    def __init__(self, name: str, where: str) -> None:
        super().__init__(f"no credential named {name!r} ({where})")
        self.name = name


class NodeError(GraphflowError):
    """A node attempt failed for a reason graphflow detected itself."""

    def __init__(self, message: str, *, node_id: str | None = None, attempt: int | None = None) -> None:
        super().__init__(message)
        self.node_id = node_id
        self.attempt = attempt


class NodeTimeout(NodeError):
    def __init__(self, seconds: float, *, node_id: str | None = None, attempt: int | None = None,
                 abandoned: int = 0) -> None:
        note = (f"; its worker thread could not be stopped and was abandoned ({abandoned} abandoned "
                "thread(s) still running)") if abandoned else ""
        super().__init__(f"timed out after {seconds:g}s{note}", node_id=node_id, attempt=attempt)
        self.seconds = seconds
        self.thread_abandoned = bool(abandoned)


class NodeOutputError(NodeError):
    """A node returned a value that cannot be stored as JSON."""


class InputInvalid(NodeError):
    """A value reached a function's parameter annotated with a pydantic model or TypedDict and
    does not fit it. The message names the input and each failing field. The same value would
    fail again, so it is never retried."""

    retryable = False

    def __init__(self, port: str, expected: str, error: Any) -> None:
        fields = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(the value)'}: {e['msg']}"
                           for e in error.errors()[:5])
        more = f" (and {error.error_count() - 5} more)" if error.error_count() > 5 else ""
        super().__init__(f"input {port!r} does not fit {expected}: {fields}{more}")
        self.port = port
        self.fields = [".".join(str(p) for p in e["loc"]) for e in error.errors()]


class LeaseHeld(GraphflowError):
    """Another live process executes the run: its lease has not expired."""

    def __init__(self, run_id: str, owner: str, expires_at: float, now: float) -> None:
        when = time.strftime("%H:%M:%S", time.localtime(expires_at))
        super().__init__(f"run {run_id} is held by {owner} (executing it, or gone without releasing it); "
                         f"its lease expires at {when} (in {max(0.0, expires_at - now):.0f}s) unless renewed: "
                         "try again after that")
        self.run_id, self.owner, self.expires_at = run_id, owner, expires_at


class LeaseLost(GraphflowError):
    """This process stopped executing a run: its lease could not be renewed (it expired, or another
    process took the run over)."""

    def __init__(self, run_id: str, reason: str) -> None:
        super().__init__(f"stopped executing run {run_id}: {reason}")
        self.run_id = run_id


class NodeRaisedBaseException(NodeError):
    """A node raised ``SystemExit``, ``KeyboardInterrupt``, ``GeneratorExit`` or another
    ``BaseException`` of its own: it fails like any other node, reported under the original
    type's name, instead of taking the process or the event loop down."""

    def __init__(self, original: BaseException) -> None:
        self.original = original
        self.original_type = type(original).__name__
        detail = str(original)
        super().__init__(f"the node raised {self.original_type}" + (f"({detail})" if detail else ""))


class ModelCallFailed(NodeError):
    """A call to a model server failed. ``retryable`` and ``retry_after`` (seconds the server
    asked to wait) are read by the attempt loop; the message never holds request headers."""

    retryable = True

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None,
                 detail: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after
        self.detail = detail


class ModelRateLimited(ModelCallFailed):
    pass


class ModelUnavailable(ModelCallFailed):
    pass


class ModelRejected(ModelCallFailed):
    retryable = False


class ModelOutputInvalid(ModelCallFailed):
    """The reply is not JSON fitting the node's schema; ``detail`` holds the validation error."""


class ModelUnsure(ModelCallFailed):
    """A classifier's confidence is below its ``min_confidence``: not retried (the same question
    gets the same doubt), so an error edge or a tolerant join can take another way."""

    retryable = False


class HttpRequestFailed(NodeError):
    """An HTTP request node's call failed. Like ``ModelCallFailed``: ``retryable`` and
    ``retry_after`` are read by the attempt loop; the message never holds a credential."""

    retryable = True

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None,
                 retryable: bool | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after
        if retryable is not None:
            self.retryable = retryable


class HttpRefused(HttpRequestFailed):
    """Refused before any byte was sent (the SSRF guard, a bad URL), or a redirect refused."""

    retryable = False


class HttpUnavailable(HttpRequestFailed):
    pass


class HttpTimeout(HttpUnavailable):
    pass


class HttpRejected(HttpRequestFailed):
    retryable = False


class HttpResponseTooLarge(HttpRequestFailed):
    retryable = False


class AgentLimitExceeded(NodeError):
    """An agent node reached one of its limits: ``limit`` is ``max_steps``, ``max_tokens`` or
    ``max_cost``. A retry would only spend the same again, so it is never retried."""

    retryable = False

    def __init__(self, limit: str, message: str) -> None:
        super().__init__(message)
        self.limit = limit


class ToolCallFailed(NodeError):
    """An agent's tool call failed and the node's ``tool_errors`` is ``fail`` (by default the
    error goes back to the model as the call's result instead)."""

    def __init__(self, tool: str, step: int, message: str) -> None:
        super().__init__(f"tool {tool!r} (step {step}) failed: {message}")
        self.tool = tool
        self.step = step


class WakeRefused(GraphflowError):
    """An event, decision or timer that changes nothing: the run (or review item) is not waiting
    for it, or another wake was first. Nothing stored was changed."""


class StoreNeeded(GraphflowError):
    """``graphflow.run`` (``graphflow run --no-store``) was given a graph with nodes that wait for
    an event or a person (``NodeKind.may_wait``): nothing could keep the waiting run or wake it, so it is
    refused before anything runs. Run it through a workspace, which has a store."""


class WaitUnsupported(NodeError):
    """A node waited (for an event, a decision or a long timer) in a run that cannot wait: a bare
    ``Runner`` has no store to keep a waiting run in. Run the graph through a workspace."""
