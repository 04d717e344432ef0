"""The commands. Each parses its options, calls the workspace (the application service) or
the engine, and prints; the heavy imports are inside the commands that need them."""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from graphflow.formatting import cost, duration, percent, when
from graphflow.text import printable

from .boundary import EXIT_FAILED, EXIT_USAGE, CliError, boundary, print_columns

if TYPE_CHECKING:
    from graphflow.compile import CompiledGraph
    from graphflow.ports import EventSink
    from graphflow.registry import Registry
    from graphflow.runner import RunControl, RunResult
    from graphflow.service import Workspace

T = TypeVar("T")

app = typer.Typer(name="graphflow", help="Build, validate, run and inspect graphflow workflow graphs.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_show_locals=False,
                  rich_markup_mode=None)


class ProgressMode(StrEnum):
    auto = "auto"
    lines = "lines"
    table = "table"
    none = "none"


GraphArg = Annotated[str, typer.Argument(metavar="GRAPH.json", help="Graph file, or - for stdin.", show_default=False)]
PluginOpt = Annotated[
    list[str],
    typer.Option("--plugin", "-p", metavar="MODULE|FILE.py",
                 help="Import a module (the current folder is importable) or a .py file and call its "
                      "register(registry)."),
]
DbOpt = Annotated[Path | None, typer.Option("--db", help="Database file (default: $GRAPHFLOW_DB or "
                                            "~/.local/share/graphflow/graphflow.db).", dir_okay=False)]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def load_registry(plugins: list[str]) -> Registry:
    from graphflow.registry import default_registry

    return default_registry(plugins)


def load_compiled(path: str, registry: Registry) -> CompiledGraph:
    """Read a graph file (``-`` for stdin) and run every check on it."""
    from graphflow.api import validate_graph

    text: str | bytes = sys.stdin.read() if path == "-" else Path(path).read_bytes()
    return validate_graph(text, registry)


def with_workspace(db: Path | None, registry: Registry | None, work: Callable[[Workspace], Awaitable[T]],
                   *, max_concurrency: int = 64) -> T:
    """Open the database, run ``work`` on a workspace over it, close."""
    import anyio

    from graphflow.service import Workspace
    from graphflow.storage import StorageError, default_db_path, open_store

    async def main() -> T:
        async with open_store(db or default_db_path()) as store:
            workspace = Workspace(store, registry or load_registry([]), max_concurrency=max_concurrency)
            await workspace.load_breakers()
            return await work(workspace)

    try:
        return anyio.run(main)
    except StorageError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    except ValueError as exc:  # a finished run, one still running
        raise CliError(str(exc), EXIT_FAILED) from None


def show_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"graphflow {version('graphflow')}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.", is_eager=True,
                                          callback=show_version)] = False,
) -> None:
    """Build, validate, run and inspect graphflow workflow graphs."""


@app.command()
def validate(graph: GraphArg, plugin: PluginOpt = []) -> None:  # noqa: B006 (typer reads the default)
    """Check a graph file: structure, node configs, wiring, types and expressions."""
    with boundary(graph):
        compiled = load_compiled(graph, load_registry(plugin))
    spec = compiled.spec
    typer.echo(printable(f"ok: {spec.name or spec.id} ({len(spec.nodes)} nodes, {len(spec.edges)} edges)"))


@app.command()
def run(
    graph: GraphArg,
    input: Annotated[list[str], typer.Option(
        "--input", "-i", metavar="NAME=VALUE", help="A run input, converted to its declared type.")] = [],  # noqa: B006
    input_json: Annotated[
        str | None, typer.Option("--input-json", metavar="JSON|@FILE", help="All inputs as a JSON object.")
    ] = None,
    example: Annotated[bool, typer.Option(
        "--example", help="Every input not given takes the example its input node declares.")] = False,
    plugin: PluginOpt = [],  # noqa: B006
    max_concurrency: Annotated[int, typer.Option(min=1, help="Most nodes running at once.")] = 64,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress; summary only if the run fails.")] = False,
    progress: Annotated[
        ProgressMode, typer.Option(help="auto: a live table on a terminal, lines elsewhere.")
    ] = ProgressMode.auto,
    events_jsonl: Annotated[
        Path | None, typer.Option(metavar="FILE", help="Write every event as a JSON line.", dir_okay=False)
    ] = None,
    db: DbOpt = None,
    no_store: Annotated[bool, typer.Option(
        "--no-store", help="Run with the engine alone: no database, nothing recorded.")] = False,
    from_node: Annotated[str | None, typer.Option(
        "--from", metavar="NODE", help="Run from this node: it and every node after it run again; the other "
        "nodes' outputs, and the inputs, are reused from an earlier run of the graph.")] = None,
    after: Annotated[str | None, typer.Option(
        "--after", metavar="RUN_ID", help="With --from: the run to reuse (default: the latest that fits).")] = None,
) -> None:
    """Run a graph: progress on stderr, outputs as JSON on stdout; recorded unless --no-store."""
    from .running import collect_inputs, run_and_report

    with boundary(graph):
        check_from_options(from_node, after, bool(input or input_json or example), no_store)
        registry = load_registry(plugin)
        compiled = load_compiled(graph, registry)
        inputs = {} if from_node else collect_inputs(compiled, input, input_json, example)
        if no_store:
            from graphflow.api import refuse_waiting

            refuse_waiting(compiled)  # before any progress is shown
        start = engine_start(max_concurrency) if no_store else stored_start(db, registry, max_concurrency,
                                                                              from_node, after)
        run_and_report(compiled, inputs, quiet=quiet, progress=progress.value, events_jsonl=events_jsonl,
                       start=start)


def check_from_options(from_node: str | None, after: str | None, inputs: bool, no_store: bool) -> None:
    if after is not None and from_node is None:
        raise CliError("--after RUN_ID goes with --from NODE")
    if from_node is not None and inputs:
        raise CliError("--from reuses the inputs of the earlier run: give no --input, --input-json or --example")
    if from_node is not None and no_store:
        raise CliError("--from reuses a stored run's outputs: it cannot go with --no-store")


def engine_start(max_concurrency: int) -> Any:
    async def start(compiled: CompiledGraph, inputs: dict[str, Any], sinks: list[EventSink],
                    control: RunControl) -> RunResult:
        import graphflow

        return await graphflow.run(compiled, inputs, sinks=sinks, max_concurrency=max_concurrency, control=control)
    return start


def stored_start(db: Path | None, registry: Registry, max_concurrency: int, from_node: str | None = None,
                 after: str | None = None) -> Any:
    """Save the graph (a new version when it changed), then run it, or run it from ``from_node``."""
    from graphflow.service import RunRefused, Workspace
    from graphflow.storage import StorageError, default_db_path, open_store

    async def start(compiled: CompiledGraph, inputs: dict[str, Any], sinks: list[EventSink],
                    control: RunControl) -> RunResult:
        try:
            async with open_store(db or default_db_path()) as store:
                workspace = Workspace(store, registry, max_concurrency=max_concurrency)
                await workspace.load_breakers()
                stored = await workspace.save(compiled)  # kept compiled: the run does not compile again
                if from_node is None:
                    return await workspace.run(stored, inputs, sinks=sinks, control=control)
                plan = await workspace.plan_from(stored.graph_id, from_node, after=after, version=stored.version)
                typer.echo(printable(f"version {stored.version} from {from_node!r}: running again "
                                     f"{', '.join(plan.rerun)}; reusing {', '.join(plan.reused) or 'nothing'} "
                                     f"from run {plan.earlier.run_id} (with its inputs)"), err=True)
                return await workspace.run_from(plan, sinks=sinks, control=control)
        except StorageError as exc:
            raise CliError(str(exc), EXIT_USAGE) from None
        except RunRefused as exc:
            raise CliError(str(exc), EXIT_FAILED) from None
    return start


@app.command()
def kinds(plugin: PluginOpt = [], as_json: AsJson = False) -> None:  # noqa: B006
    """List the registered node kinds with their ports."""
    from graphflow.nodes.base import NodeKind

    with boundary():
        registry = load_registry(plugin)
    described: list[dict[str, Any]] = []
    rows = [["KIND", "TITLE", "INPUTS", "OUTPUTS"]]
    for kind in registry.kinds.values():
        d = kind.describe()
        ins, outs = ports_text(d["inputs"]), ports_text(d["outputs"])
        if kind.ports_from:
            ins = outs = f"per {kind.ports_from}"
        if type(kind).input_ports is not NodeKind.input_ports:
            ins = "per config" if ins == "-" else f"{ins} (type per config)"
        if type(kind).output_ports is not NodeKind.output_ports:
            outs = "per config" if outs == "-" else f"{outs} (type per config)"
        rows.append([d["kind"], d["title"], ins, outs])
        described.append({k: d[k] for k in ("kind", "title", "category", "description", "inputs", "outputs")}
                         | ({"ports_from": kind.ports_from} if kind.ports_from else {}))
    if as_json:
        typer.echo(json.dumps(described, indent=2))
        return
    print_columns(rows)


def ports_text(ports: list[dict[str, Any]]) -> str:
    """``in:any`` per port; ``?`` marks an optional input, ``*`` one that takes many edges."""
    return ", ".join(
        f"{p['name']}:{p['type']}{'' if p.get('required', True) else '?'}{'*' if p.get('multi') else ''}" for p in ports
    ) or "-"


def node_ports_text(inputs: tuple[Any, ...], outputs: tuple[Any, ...]) -> str:
    """``order:Order, rate:number -> out:Invoice``: a model port shows the model's name."""
    from graphflow.wiring import schema_name

    def one(p: Any) -> str:
        return f"{p.name}:{schema_name(p)}{'' if p.required or p in outputs else '?'}"

    return (", ".join(one(p) for p in inputs) or "-") + " -> " + ", ".join(one(p) for p in outputs)


@app.command()
def functions(plugin: PluginOpt = [], as_json: AsJson = False) -> None:  # noqa: B006
    """List the registered Python functions that function nodes may call."""
    with boundary():
        registry = load_registry(plugin)
    from graphflow.signatures import function_ports, ports_of, read_signature, signature_text

    entries = sorted(registry.functions.values(), key=lambda e: e.name)
    node_ports = {e.name: function_ports(read_signature(e.fn), ()) for e in entries}
    if as_json:
        typer.echo(json.dumps([{"name": e.name, "async": e.is_async, "blocking": e.blocking,
                                "wants_ctx": e.wants_ctx, "description": e.description,
                                "parameters": [{"name": n, "type": t} for n, t in ports_of(e.fn)[0]],
                                "returns": ports_of(e.fn)[1],
                                "inputs": [p.model_dump() for p in node_ports[e.name][0]],
                                "outputs": [p.model_dump() for p in node_ports[e.name][1]]} for e in entries],
                               indent=2))
        return
    if not entries:
        typer.echo("no functions registered (load a plugin with --plugin MODULE or --plugin FILE.py)", err=True)
        return
    rows = [["NAME", "SIGNATURE", "NODE PORTS", "CALL", "DESCRIPTION"]]
    rows += [[e.name, signature_text(e.fn), node_ports_text(*node_ports[e.name]),
              ("async" if e.is_async else "sync") + (", blocking" if e.blocking else ""), e.description]
             for e in entries]
    print_columns(rows)


@app.command()
def graphs(db: DbOpt = None) -> None:
    """List the stored graphs."""
    with boundary():
        rows = with_workspace(db, None, lambda ws: ws.graphs())
    table = [["GRAPH", "NAME", "VERSION", "RUNS", "UPDATED"]]
    table += [[g.graph_id, g.name, str(g.latest_version), str(g.runs), when(g.updated_at)] for g in rows]
    print_columns(table)


@app.command()
def runs(graph: Annotated[str | None, typer.Argument(help="Only this graph's runs.")] = None,
         limit: Annotated[int, typer.Option(min=1)] = 20, db: DbOpt = None) -> None:
    """Recent runs, newest first."""
    with boundary():
        rows = with_workspace(db, None, lambda ws: ws.runs(graph, limit))
    table = [["RUN", "GRAPH", "VERSION", "STATUS", "STARTED", "DURATION", "COST"]]
    table += [[r.run_id, r.graph_id, str(r.graph_version or "-"), r.status, when(r.started_at),
               duration(r.duration), cost(r.cost)] for r in rows]
    print_columns(table)


@app.command()
def show(run_id: str, db: DbOpt = None) -> None:
    """A run's node timeline: when each node ran, how long, how many attempts, what failed."""
    from graphflow import events as ev
    from graphflow.describe import reuse_text, steps_lines
    from graphflow.state import RunState

    with boundary():
        events = with_workspace(db, None, lambda ws: ws.events(run_id))
        if not events:
            raise CliError(f"no run {run_id!r}")
    state = RunState.from_events(events)
    t0 = events[0].at
    starts = {e.node_id: e.at - t0 for e in reversed(events) if e.kind == "node_started"}
    for node_id, rec in state.nodes.items():  # inline nodes record only their outcome
        if node_id not in starts and rec.started_at is not None:
            starts[node_id] = rec.started_at - t0
    parent = getattr(events[0], "parent_run_id", None)
    reuse = reuse_text(events[0]) if isinstance(events[0], ev.RunStarted) else ""
    typer.echo(printable(f"run {state.run_id}  graph {state.graph_id}  {state.status}"
                         + (f"  failed at {state.failed_node}: {state.error}" if state.failed_node else "")
                         + (f"  (part of run {parent})" if parent else "") + (f"  ({reuse})" if reuse else "")))
    table = [["NODE", "STATUS", "START", "DURATION", "ATTEMPTS", "TOKENS", "COST", "DETAIL"]]
    order = sorted(state.nodes, key=lambda n: (starts.get(n, float("inf")), n))
    for node_id in order:
        rec = state.nodes[node_id]
        detail = rec.error or rec.reason or ("cached" if rec.cached else "") or (
            f"reused from {rec.reused_from}" if rec.reused_from else "")
        if rec.degraded:
            detail = f"degraded, default used: {detail}"
        table.append([node_id, rec.status, duration(starts.get(node_id)), duration(rec.duration),
                      str(rec.attempts or "-"), tokens_text(rec), cost(rec.cost) if rec.cost else "-", detail])
    print_columns(table)
    if state.tokens or state.cost:
        typer.echo(f"total: {state.tokens} tokens, cost {cost(state.cost)}")
    for node_id in order:
        if state.nodes[node_id].steps:
            typer.echo(printable(f"\n{node_id} (agent):"))
            for line in steps_lines(state.nodes[node_id]):
                typer.echo(printable(f"  {line}"))
    for event in events:
        if event.kind == "node_failed" and (event.input_preview or event.traceback):
            typer.echo(printable(f"\n{event.node_id} failed (attempt {event.attempt}): "
                                 f"{event.error_type}: {event.error_message}"))
            if event.input_preview:
                typer.echo(printable(f"  input: {event.input_preview}"))
            if event.traceback:
                typer.echo(printable("  " + event.traceback.rstrip().replace("\n", "\n  ")))
    typer.echo(json.dumps(state.outputs, indent=2))


def tokens_text(rec: Any) -> str:
    """``"120 (100 in, 20 out)"`` for a model node (from its usage output), else the total."""
    usage = (rec.output or {}).get("usage")
    if rec.cached:
        return "0 (cached)"
    if isinstance(usage, dict) and isinstance(usage.get("tokens_in"), int) and rec.tokens:
        return f"{rec.tokens} ({usage['tokens_in']} in, {usage.get('tokens_out', 0)} out)"
    return str(rec.tokens) if rec.tokens else "-"


@app.command()
def resume(
    run_id: str,
    from_failure: Annotated[bool, typer.Option(
        "--from-failure", help="Start a new run from a failed one, reusing what succeeded.")] = False,
    version: Annotated[int | None, typer.Option(help="Graph version for --from-failure (default: latest).")] = None,
    plugin: PluginOpt = [],  # noqa: B006
    db: DbOpt = None,
) -> None:
    """Continue an unfinished run (after a crash) or a paused one, or re-run a failed one from its failure."""
    from .running import report

    async def work(ws: Workspace) -> RunResult:
        if from_failure:
            result, changed = await ws.resume_from_failure(run_id, version=version)
            if changed:
                typer.echo(f"changed since that run: {', '.join(changed)} (re-run with what depends on them)",
                           err=True)
            return result
        return await ws.resume(run_id)

    with boundary():
        result = with_workspace(db, load_registry(plugin), work)
    report(result)


@app.command()
def pause(
    run_id: str,
    reason: Annotated[str, typer.Option(help="Why (shown with the run).")] = "paused from the command line",
    db: DbOpt = None,
) -> None:
    """Pause a running run: the nodes running now finish, nothing new starts, and the run waits
    until `graphflow resume RUN_ID`. The process running it pauses it within about a second."""
    async def work(ws: Workspace) -> str:
        return await ws.pause(run_id, reason)

    with boundary():
        typer.echo(printable(f"run {run_id}: {with_workspace(db, None, work)}"), err=True)


@app.command()
def send(
    run_id: str,
    event: Annotated[str, typer.Argument(help="The event's name, e.g. approved.")],
    data: Annotated[str | None, typer.Option("--data", metavar="JSON|@FILE", help="The event's data.")] = None,
    by: Annotated[str, typer.Option(help="Who sends it (kept in the run's history).")] = "cli",
    no_continue: Annotated[bool, typer.Option(
        "--no-continue", help="Only wake the node; a running graphflow serve continues the run.")] = False,
    plugin: PluginOpt = [],  # noqa: B006
    db: DbOpt = None,
) -> None:
    """Send an event to a waiting run: the node waiting for it is woken and the run continues
    here (until it ends or waits again). Refused, with nothing changed, when no node takes it."""
    from .running import read_json, report

    async def work(ws: Workspace) -> Any:
        return await ws.send(run_id, event, value, by=by, go_on=not no_continue)

    with boundary():
        value = None if data is None else read_json(data, "--data")
        sent = with_workspace(db, load_registry(plugin), work)
    typer.echo(printable(f"{event!r} woke node {sent.node_id!r} of run {run_id}"), err=True)
    if sent.result is not None:
        report(sent.result)
    elif not no_continue:
        typer.echo("another process holds the run; it continues there", err=True)


@app.command()
def waits(
    run_id: Annotated[str | None, typer.Argument(help="Only this run's waiting nodes.")] = None,
    fire: Annotated[bool, typer.Option(
        "--fire", help="Fire the timers that are due and continue every woken run, then list.")] = False,
    plugin: PluginOpt = [],  # noqa: B006
    db: DbOpt = None,
) -> None:
    """Waiting nodes: what each waits for, since when, and its timeout."""
    async def work(ws: Workspace) -> tuple[list[Any], list[Any]]:
        continued = await ws.wake_due() if fire else []
        return continued, await ws.waits(run_id)

    with boundary():
        continued, rows = with_workspace(db, load_registry(plugin) if fire else None, work)
    for result in continued:
        typer.echo(printable(f"continued run {result.run_id}: {result.status}"), err=True)
    table = [["RUN", "NODE", "WAITS FOR", "SINCE", "DUE", "WOKEN"]]
    for w in rows:
        table.append([w.run_id, w.node_id or "(the run)", w.waits_for(), when(w.since),
                      when(w.due_at) if w.due_at else "-", f"{w.wake.kind} by {w.wake.by}" if w.wake else "-"])
    if len(table) == 1:
        typer.echo("no run is waiting" if run_id is None else f"run {run_id} has no waiting node")
        return
    print_columns(table)


@app.command()
def stats(graph: str, limit: Annotated[int, typer.Option(min=1, help="Newest runs to include.")] = 1000,
          db: DbOpt = None) -> None:
    """Latency p50/p95, success rate, retries and cost per 1,000 runs, per graph and node."""
    from graphflow.ports import NotFound

    async def gather(ws: Workspace) -> tuple[Any, dict[str, str]]:
        result = await ws.stats(graph, limit)
        try:
            breakers = ws.breakers_of((await ws.graph(graph)).spec)
        except NotFound:  # runs of a graph no longer stored
            breakers = {}
        return result, breakers

    with boundary():
        result, breakers = with_workspace(db, None, gather)
    g = result.graph
    typer.echo(f"graph {graph}: {g.runs} runs, p50 {duration(g.p50)}, p95 {duration(g.p95)}, "
               f"success {percent(g.success_rate)}, tokens per run {g.tokens_per_run:.0f}, "
               f"cost per 1K runs {cost(g.cost_per_1k_runs)}")
    table = [["NODE", "RUNS", "P50", "P95", "SUCCESS", "RETRIES", "TOKENS/RUN", "COST/1K RUNS"]]
    table += [[n.node_id, str(n.runs), duration(n.p50), duration(n.p95), percent(n.success_rate), str(n.retries),
               f"{n.tokens_per_run:.0f}", cost(n.cost_per_1k_runs)] for n in result.nodes]
    print_columns(table)
    for n in result.nodes:
        if n.answered_by:
            answers = ", ".join(f"{model} {count}" for model, count in sorted(n.answered_by.items()))
            typer.echo(printable(f"cascade {n.node_id}: answered by {answers}; saved {cost(n.saved)} "
                                 "against always asking the larger model"))
    for name, state in breakers.items():
        typer.echo(printable(f"breaker {name}: {state.replace('_', '-')}"))


@app.command()
def providers(init: Annotated[bool, typer.Option(
        "--init", help="Write the shipped defaults to your providers file, to edit there.")] = False,
              as_json: AsJson = False) -> None:
    """Model providers (base URL, credential name, default model, prices per 1M tokens, rate limits)."""
    from graphflow.providers import load_providers, providers_path, write_user_file

    with boundary():
        path = providers_path()
        if init:
            write_user_file(path)
            typer.echo(f"wrote {path}: edit it (prices are USD per 1M tokens)")
            return
        found = load_providers()
    if as_json:
        typer.echo(json.dumps({n: p.model_dump(mode="json") for n, p in found.items()}, indent=2))
        return
    typer.echo(printable(f"providers file: {path}" + ("" if path.exists() else " (none: the shipped defaults)")))
    table = [["PROVIDER", "BASE URL", "CREDENTIAL", "DEFAULT MODEL", "PRICED MODELS", "LIMITS"]]
    for name, p in found.items():
        limits = ", ".join(f"{k} {v}" for k, v in p.limits.model_dump().items() if v is not None) or "-"
        table.append([name, p.base_url, p.secret or "-", p.default_model or "-", str(len(p.prices)), limits])
    print_columns(table)


@app.command("export")
def export_graph(graph: str, version: Annotated[int | None, typer.Option()] = None,
                 output: Annotated[Path | None, typer.Option("--output", "-o", dir_okay=False)] = None,
                 db: DbOpt = None) -> None:
    """Write a stored graph as JSON (stdout, or --output FILE)."""
    with boundary():
        stored, text = with_workspace(db, None, lambda ws: ws.export(graph, version))
        if output is None:
            typer.echo(text)
        else:
            output.write_text(text + "\n", encoding="utf-8")
            typer.echo(f"wrote {graph} version {stored.version} to {output}", err=True)


@app.command("import")
def import_graph(file: GraphArg, plugin: PluginOpt = [], db: DbOpt = None) -> None:  # noqa: B006
    """Validate a graph file and store it as a new version (nothing in it is run)."""
    with boundary(file):
        registry = load_registry(plugin)
        compiled = load_compiled(file, registry)
        stored = with_workspace(db, registry, lambda ws: ws.save(compiled))
    typer.echo(printable(f"imported {stored.graph_id} version {stored.version}"))


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind; anything but loopback needs --token.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8080,
    db: DbOpt = None,
    token: Annotated[str | None, typer.Option(envvar="GRAPHFLOW_TOKEN",
                                              help="Access token (16+ random bytes) required when binding beyond "
                                                   "loopback.")] = None,
    allowed_host: Annotated[list[str], typer.Option(
        "--allowed-host", metavar="NAME[:PORT]",
        help="Another Host name browsers reach the server by (loopback and --host are always allowed).")] = [],  # noqa: B006
    generate_token: Annotated[bool, typer.Option(
        "--generate-token", help="Print a new access token and exit.")] = False,
    plugin: PluginOpt = [],  # noqa: B006
    reload_plugins: Annotated[bool, typer.Option(
        "--reload-plugins", help="Import the plugins again whenever one of their files changes (no restart; "
                                 "runs in flight keep their code).")] = False,
) -> None:
    """Start the canvas in the browser (with the sample graphs)."""
    from graphflow.storage import StorageError, default_db_path

    from ..auth import BindRefused, check_bind, new_token

    if generate_token:
        typer.echo(new_token())
        return
    with boundary():
        try:
            check_bind(host, token)
        except BindRefused as exc:
            raise CliError(str(exc), EXIT_USAGE) from None
        from ..app import start  # NiceGUI is imported only for this command

        try:
            start(host=host, port=port, db=db or default_db_path(), token=token, plugins=plugin,
                  allowed=allowed_host, reload_plugins=reload_plugins)
        except StorageError as exc:
            raise CliError(str(exc), EXIT_USAGE) from None
