"""The node contract: every kind has typed ports and a pydantic config model.

The canvas draws ports and settings forms from ``describe()``, the validator type-checks
wiring with ``ports_in`` (``input_ports``/``output_ports`` unless the ports depend on the
registry), and the runner calls ``run`` (or
``run_inline`` for pure, synchronous kinds that are cheap enough to run in the
scheduler loop without a task).
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict

from graphflow.clock import Clock, RealClock
from graphflow.model import PortSpec
from graphflow.waits import Wait, Wake

if TYPE_CHECKING:
    from graphflow.model import GraphSpec
    from graphflow.ports import SecretSource, SessionStore
    from graphflow.registry import Registry


class NodeConfig(BaseModel):
    """Base of every kind's config model: unknown options are errors; the docstring under a
    field is its description (the canvas shows it as help)."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class EmptyConfig(NodeConfig):
    pass


@dataclass(slots=True)
class NodeContext:
    """What a running node may know about its run, and how it reports usage and progress."""

    run_id: str
    node_id: str
    attempt: int = 1
    run_inputs: Mapping[str, Any] = field(default_factory=dict)
    clock: Clock = field(default_factory=RealClock)
    rng: random.Random = field(default_factory=random.Random)
    cost: float = 0.0
    tokens: int = 0
    on_progress: Callable[..., None] | None = None
    item: int | None = None
    """The item index, for a map's per-item context."""
    recovered_items: Mapping[int, Any] = field(default_factory=dict)
    """A map's items already finished before a crash (from its ``map_progress`` events)."""
    subgraph_runner: Callable[..., Awaitable[Any]] | None = None
    """Set by the runner: how a node runs a compiled sub-graph (kinds never import the runner)."""
    timeout: float | None = None
    """Seconds this attempt may take, when a timeout applies to it."""
    abandoned: int = 0
    """Set when this attempt left a worker thread running: how many are abandoned now."""
    secrets: SecretSource | None = None
    """Where ``secret(name)`` looks; the environment when the runner was given none."""
    on_text: Callable[[str], None] | None = None
    """Set by the runner: where ``stream_text`` goes (live watchers, throttled, never stored)."""
    call: str | None = None
    """An agent's tool call (``step:index``): part of the call's idempotency key."""
    on_nested: Callable[..., Awaitable[None]] | None = None
    """Set by the runner: how ``record`` publishes a nested event (an agent's step)."""
    nested: Sequence[Any] = ()
    """This node's nested events already in the log (``agent_step``, ``tool_call``), from before
    a crash: the node continues after them."""
    sessions: SessionStore | None = None
    """Where an agent keeps conversations by session id (the workspace's store); None: nowhere."""
    journal: Any = None
    """What a node rebuilt from ``nested`` and keeps up to date across its attempts (an agent's
    finished steps), so a retry continues too instead of starting over."""
    started_at: float = 0.0
    """Wall-clock time of the node's first start in this run, the same after resumes: a due
    time computed from it stays put (``graphflow.waits``)."""
    wake: Wake | None = None
    """Set when the node waited and was woken: what woke it (an event, a decision, a timer)."""
    waited: Wait | None = None
    """The node's last ``Wait`` in this run (from the log), when it waited before: a node that
    waits again and again (a state machine) keeps its state in the wait's ``detail``."""
    can_wait: bool = False
    """Whether returning a ``Wait`` suspends the run (a workspace with a store) or fails the node."""

    def report_usage(self, *, cost: float = 0.0, tokens: int = 0) -> None:
        """Add the money and tokens a call spent; they land on the node's events."""
        self.cost += cost
        self.tokens += tokens

    def secret(self, name: str) -> str:
        """A named credential's value. Use it for the call only: never return it, log it or
        put it in an error message."""
        if self.secrets is None:
            from graphflow.secrets import EnvSecrets

            self.secrets = EnvSecrets()
        return self.secrets.get(name)

    async def record(self, event: type[Any], **fields: Any) -> None:
        """Publish a nested event of this node (``events.AgentStep``, ``events.ToolCalled``) and
        return once it is durable, so what it records is never done again after a crash."""
        if self.on_nested is not None:
            await self.on_nested(event, {"node_id": self.node_id, **fields})

    def stream_text(self, text: str) -> None:
        """The text so far of a reply arriving piece by piece (a model streaming). Watchers of
        the run see it a few times a second; the stored events keep only the node's output."""
        if self.on_text is not None:
            self.on_text(text)

    def progress(self, done: int, failed: int, total: int, results: dict[int, Any] | None = None) -> None:
        """Report progress; ``results`` (index -> result of items finished since the last
        report) are recorded durably with it, so a resumed map does not run them again."""
        if self.on_progress is not None:
            self.on_progress(done, failed, total, results)

    def for_item(self, index: int) -> NodeContext:
        """The context one map item runs with: its own idempotency key, shared usage."""
        return NodeContext(self.run_id, self.node_id, self.attempt, self.run_inputs, self.clock, self.rng,
                           item=index, subgraph_runner=self.subgraph_runner, timeout=self.timeout,
                           secrets=self.secrets)

    async def run_subgraph(self, graph: Any, inputs: Mapping[str, Any], run_id: str | None = None,
                           record: bool = False) -> Any:
        """Run a compiled sub-graph on this run's clock; returns its ``RunResult``. ``run_id``:
        a stable one (an agent's tool call's key), so the sub-run's own keys are stable too."""
        if self.subgraph_runner is None:
            raise RuntimeError("this context cannot run sub-graphs (no runner attached)")
        return await self.subgraph_runner(graph, inputs, run_id, record)

    def thread_abandoned(self, count: int) -> None:
        self.abandoned = count

    def for_call(self, step: int, index: int) -> NodeContext:
        """The context an agent's tool call runs with: its own idempotency key."""
        return NodeContext(self.run_id, self.node_id, self.attempt, self.run_inputs, self.clock, self.rng,
                           item=self.item, subgraph_runner=self.subgraph_runner, secrets=self.secrets,
                           call=f"{step}:{index}", sessions=self.sessions)

    @property
    def idempotency_key(self) -> str:
        """Stable across retries and resumes: a side effect keyed on it happens at most once.
        A map item's key adds its index (run id + node id + item index); an agent's tool call
        adds its step and index (run id + node id + step + call index)."""
        base = f"{self.run_id}:{self.node_id}"
        base = base if self.item is None else f"{base}:{self.item}"
        return base if self.call is None else f"{base}:{self.call}"


def port(name: str, type: str = "any", *, required: bool = True, multi: bool = False,
         description: str = "") -> PortSpec:
    return PortSpec.model_validate(
        {"name": name, "type": type, "required": required, "multi": multi, "description": description}
    )


class NodeKind:
    """Base class of node kinds. Subclasses set the class attributes and override ``run``."""

    kind: ClassVar[str]
    title: ClassVar[str] = ""
    description: ClassVar[str] = ""
    category: ClassVar[str] = "core"
    Config: ClassVar[type[NodeConfig]] = EmptyConfig
    inputs: ClassVar[tuple[PortSpec, ...]] = ()
    outputs: ClassVar[tuple[PortSpec, ...]] = (port("out"),)
    inline: ClassVar[bool] = False
    """Pure and synchronous: run in the scheduler loop, without a task or timeout."""
    reads_node_context: ClassVar[bool] = True
    """``run_inline`` reads its node's own context (id, attempt, start) or reports usage through
    it; False: at most the run's parts (see ``needs_own_context``)."""
    ends_run: ClassVar[bool] = False
    """Succeeding ends the run early (the stop node); its output carries ``stop``."""
    ports_from: ClassVar[str] = ""
    """What this kind's ports follow when ``ports_in`` reads the registry (the function node:
    "the function's signature"); ``graphflow kinds`` shows it."""
    can_retry: ClassVar[bool] = True
    """Can fail in a way that a retry, a breaker or a cache helps with (not so a graph's input
    or output): the settings form shows those options only then."""

    def may_wait(self, config: Any) -> bool:
        """The node may wait for an event or a person (``graphflow.waits``): the engine alone, with no
        store to keep a waiting run, refuses its graph at start (``StoreNeeded``). A delay is not such
        a node: without a store it sleeps."""
        return False

    def parse_config(self, raw: Mapping[str, Any]) -> NodeConfig:
        return self.Config.model_validate(raw)

    def input_ports(self, config: Any) -> tuple[PortSpec, ...]:
        return self.inputs

    def output_ports(self, config: Any) -> tuple[PortSpec, ...]:
        return self.outputs

    def ports_in(self, config: Any, registry: Registry) -> tuple[tuple[PortSpec, ...], tuple[PortSpec, ...]]:
        """(inputs, outputs) of a node with this parsed config, for kinds whose ports depend on
        what the config names in the registry (a function node's come from its function's
        signature). What the validator and the canvas call; the default is ``input_ports`` and
        ``output_ports``."""
        return self.input_ports(config), self.output_ports(config)

    def expressions(self, config: Any) -> Iterable[tuple[str, str]]:
        """(config field, expression text) pairs, parsed by the validator before any run."""
        return ()

    def check(self, config: Any, registry: Registry) -> list[tuple[str, str]]:
        """Further problems with a parsed config, as (code, message) pairs."""
        return []

    def check_wired(self, config: Any, fed: Mapping[str, PortSpec],
                    run_inputs: frozenset[str]) -> list[tuple[str, str]]:
        """Problems that depend on what is wired in, as (code, message) pairs: ``fed`` maps each
        input port with one edge to the output feeding it; ``run_inputs`` are the graph's input names."""
        return []

    def runs_inline(self, runtime: Any) -> bool:
        """Whether this node (with its prepared config) runs in the scheduler loop."""
        return self.inline

    def stops_when_cancelled(self, runtime: Any) -> bool:
        """Whether ``run`` (with this prepared config) is plain async code that ends at once
        when cancelled and reports nothing while it runs. The runner may then await it in
        the run loop itself when it is the only node running (no hand-off to a task)."""
        return False

    def prepare(self, config: Any, registry: Registry) -> Any:
        """Resolve what the config names (once, at compile time); the result is what
        ``run`` receives as ``config``."""
        return config

    def prepare_in(self, config: Any, registry: Registry, graph: GraphSpec) -> Any:
        """``prepare`` for kinds that read the graph's own settings (its ``metadata``), e.g. the
        HTTP node's allow-list; what the compiler calls."""
        return self.prepare(config, registry)

    async def run(self, config: Any, inputs: dict[str, Any], ctx: NodeContext, /) -> dict[str, Any] | Wait:
        """Return values by output port; leave a port out to not emit it. Or return a ``Wait``
        to suspend the run until woken (``graphflow.waits``). (Positional: a kind names
        ``config`` after what ``prepare`` made of it.)"""
        return self.run_inline(config, inputs, ctx)

    def run_inline(self, config: Any, inputs: dict[str, Any], ctx: NodeContext, /) -> dict[str, Any]:
        raise NotImplementedError(f"node kind {self.kind!r} has no run method")

    def run_output(self, config: Any, output: dict[str, Any]) -> tuple[str, Any] | None:
        """What this node publishes into the run's outputs when it succeeds, as
        (output name, value); ``None`` (the default) for kinds that publish nothing."""
        return None

    @property
    def publishes(self) -> bool:
        """Whether ``run_output`` may publish anything (it is overridden): the runner asks only
        those nodes, once each succeeds."""
        return type(self).run_output is not NodeKind.run_output

    def needs_own_context(self, runtime: Any) -> bool:
        """Whether ``run_inline`` (with this prepared config) needs a context of its own: it reads
        the node's id, attempt or start, or reports usage. False: it reads at most the run's parts
        (``run_id``, ``run_inputs``, ``clock``, ``rng``, ``secrets``) and gets a context shared by
        the run's inline nodes of that sort."""
        return self.reads_node_context

    def reports_through_context(self, runtime: Any) -> bool:
        """Whether ``run`` (with this prepared config) may report through its context while it
        runs (progress, streaming text, nested events) or run sub-graphs. False: the runner
        attaches none of those hooks (a function that takes no ``ctx``)."""
        return True

    def cache_identity(self, runtime: Any) -> Any:
        """What else an identical call depends on, besides the config and the inputs, for the
        cache key (JSON-able): a model node's server and resolved model, so editing a provider
        or its default model never answers from another server's entry. None: nothing."""
        return None

    def describe(self) -> dict[str, Any]:
        """What the canvas needs to draw the palette entry and the settings form."""
        default = None
        try:
            default = self.Config().model_dump(mode="json")
        except Exception:  # a config with required fields has no default form
            default = None
        return {
            "kind": self.kind,
            "title": self.title or self.kind,
            "description": self.description,
            "category": self.category,
            "config_schema": self.Config.model_json_schema(),
            "default_config": default,
            "can_retry": self.can_retry,
            "inputs": [p.model_dump() for p in self.inputs],
            "outputs": [p.model_dump() for p in self.outputs],
        }
