"""The installed ``graphflow`` command: the engine's commands, with runs recorded in the
workspace database, plus history, resume, stats, import/export and ``serve``.

The engine's own CLI (``python -m graphflow.cli``) runs graphs without a database; this
module is a composition root, so it is the one that wires in storage.
"""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import anyio
import typer

import graphflow
from graphflow import cli as engine_cli
from graphflow.cli import EXIT_FAILED, EXIT_USAGE, CliError, ExampleOpt, PluginOpt, ProgressMode, boundary
from graphflow.compile import CompiledGraph
from graphflow.formatting import cost, duration, percent, when
from graphflow.ports import EventSink, NotFound
from graphflow.runner import RunControl, RunResult
from graphflow.state import RunState
from graphflow.storage import StorageError, default_db_path, open_store
from graphflow.storage.workspace import Workspace
from graphflow.text import printable

T = TypeVar("T")
DbOpt = Annotated[Path | None, typer.Option("--db", help="Database file (default: $GRAPHFLOW_DB or "
                                            "~/.local/share/graphflow/graphflow.db).", dir_okay=False)]

app = typer.Typer(name="graphflow", help="Build, run and inspect graphflow workflow graphs.", no_args_is_help=True,
                  add_completion=False, pretty_exceptions_show_locals=False)
app.callback()(engine_cli.root)
app.command()(engine_cli.validate)
app.command()(engine_cli.kinds)
app.command()(engine_cli.functions)


def with_workspace(db: Path | None, plugins: list[str], work: Callable[[Workspace], Awaitable[T]]) -> T:
    """Open the database, run ``work``, close; storage and lookup errors become one line."""
    async def main() -> T:
        async with open_store(db or default_db_path()) as store:
            workspace = Workspace(store, engine_cli.load_registry(plugins))
            await workspace.load_breakers()
            return await work(workspace)

    try:
        return anyio.run(main)
    except NotFound as exc:
        # NotFound is a KeyError, whose str() is the repr of its message
        raise CliError(str(exc.args[0]) if exc.args else str(exc), EXIT_USAGE) from None
    except StorageError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    except ValueError as exc:
        raise CliError(str(exc), EXIT_FAILED) from None


@app.command()
def run(
    graph: engine_cli.GraphArg,
    input: Annotated[list[str], typer.Option("--input", "-i", metavar="NAME=VALUE",
                                             help="A run input, converted to its declared type.")] = [],  # noqa: B006
    input_json: Annotated[str | None, typer.Option("--input-json", metavar="JSON|@FILE",
                                                   help="All inputs as a JSON object.")] = None,
    example: ExampleOpt = False,
    plugin: PluginOpt = [],  # noqa: B006
    max_concurrency: Annotated[int, typer.Option(min=1, help="Most nodes running at once.")] = 64,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress; summary only if the run fails.")] = False,
    progress: Annotated[ProgressMode, typer.Option(help="auto: a live table on a terminal.")] = ProgressMode.auto,
    events_jsonl: Annotated[Path | None, typer.Option(metavar="FILE", dir_okay=False,
                                                      help="Write every event as a JSON line.")] = None,
    db: DbOpt = None,
    no_store: Annotated[bool, typer.Option("--no-store", help="Do not record the run in the database.")] = False,
) -> None:
    """Run a graph and record it (the graph is saved as a new version if it changed)."""
    if no_store:
        start = engine_cli_start(max_concurrency)
    else:
        start = stored_start(db, plugin, max_concurrency)
    engine_cli.run_and_report(graph, input, input_json, plugin, quiet, progress, events_jsonl, start,
                              example=example)


def engine_cli_start(max_concurrency: int) -> engine_cli.StartRun:
    async def start(compiled: CompiledGraph, inputs: dict[str, Any], sinks: list[EventSink],
                    control: RunControl) -> RunResult:
        return await graphflow.run(compiled, inputs, sinks=sinks, max_concurrency=max_concurrency, control=control)
    return start


def stored_start(db: Path | None, plugins: list[str], max_concurrency: int) -> engine_cli.StartRun:
    async def start(compiled: CompiledGraph, inputs: dict[str, Any], sinks: list[EventSink],
                    control: RunControl) -> RunResult:
        try:
            async with open_store(db or default_db_path()) as store:
                workspace = Workspace(store, compiled_registry(plugins), max_concurrency=max_concurrency)
                await workspace.load_breakers()
                stored = await workspace.save_if_changed(compiled.spec)
                return await workspace.run(stored.graph_id, inputs, version=stored.version, sinks=sinks,
                                           control=control)
        except StorageError as exc:
            raise CliError(str(exc), EXIT_USAGE) from None
    return start


def compiled_registry(plugins: list[str]) -> graphflow.Registry:
    return engine_cli.load_registry(plugins)


@app.command()
def graphs(db: DbOpt = None) -> None:
    """List the stored graphs."""
    with boundary():
        rows = with_workspace(db, [], lambda ws: ws.store.list_graphs())
    table = [["GRAPH", "NAME", "VERSION", "RUNS", "UPDATED"]]
    table += [[g.graph_id, g.name, str(g.latest_version), str(g.runs), when(g.updated_at)] for g in rows]
    engine_cli.print_columns(table)


@app.command()
def runs(graph: Annotated[str | None, typer.Argument(help="Only this graph's runs.")] = None,
         limit: Annotated[int, typer.Option(min=1)] = 20, db: DbOpt = None) -> None:
    """Recent runs, newest first."""
    with boundary():
        rows = with_workspace(db, [], lambda ws: ws.runs(graph, limit))
    table = [["RUN", "GRAPH", "VERSION", "STATUS", "STARTED", "DURATION", "COST"]]
    table += [[r.run_id, r.graph_id, str(r.graph_version or "-"), r.status, when(r.started_at),
               duration(r.duration), cost(r.cost)] for r in rows]
    engine_cli.print_columns(table)


@app.command()
def show(run_id: str, db: DbOpt = None) -> None:
    """A run's node timeline: when each node ran, how long, how many attempts, what failed."""
    with boundary():
        events = with_workspace(db, [], lambda ws: ws.store.load_events(run_id))
        if not events:
            raise CliError(f"no run {run_id!r}")
    state = RunState.from_events(events)
    t0 = events[0].at
    starts = {e.node_id: e.at - t0 for e in reversed(events) if e.kind == "node_started"}
    typer.echo(printable(f"run {state.run_id}  graph {state.graph_id}  {state.status}"
                         + (f"  failed at {state.failed_node}: {state.error}" if state.failed_node else "")))
    table = [["NODE", "STATUS", "START", "DURATION", "ATTEMPTS", "DETAIL"]]
    order = sorted(state.nodes, key=lambda n: (starts.get(n, float("inf")), n))
    for node_id in order:
        rec = state.nodes[node_id]
        detail = rec.error or rec.reason or ("cached" if rec.cached else "")
        if rec.degraded:
            detail = f"degraded, default used: {detail}"
        table.append([node_id, rec.status, duration(starts.get(node_id)), duration(rec.duration),
                      str(rec.attempts or "-"), detail])
    engine_cli.print_columns(table)
    for event in events:
        if event.kind == "node_failed" and (event.input_preview or event.traceback):
            typer.echo(f"\n{event.node_id} failed (attempt {event.attempt}): {event.error_type}: {event.error_message}")
            if event.input_preview:
                typer.echo(f"  input: {event.input_preview}")
            if event.traceback:
                typer.echo("  " + event.traceback.rstrip().replace("\n", "\n  "))
    typer.echo(json.dumps(state.outputs, indent=2))


@app.command()
def resume(
    run_id: str,
    from_failure: Annotated[bool, typer.Option(
        "--from-failure", help="Start a new run from a failed one, reusing what succeeded.")] = False,
    version: Annotated[int | None, typer.Option(help="Graph version for --from-failure (default: latest).")] = None,
    plugin: PluginOpt = [],  # noqa: B006
    db: DbOpt = None,
) -> None:
    """Continue an unfinished run (after a crash), or re-run a failed one from its failure."""
    async def work(ws: Workspace) -> RunResult:
        if from_failure:
            result, changed = await ws.resume_from_failure(run_id, version=version)
            if changed:
                typer.echo(f"changed since that run: {', '.join(changed)} (re-run with what depends on them)",
                           err=True)
            return result
        return await ws.resume(run_id)

    with boundary():
        result = with_workspace(db, plugin, work)
    typer.echo(json.dumps(result.outputs, indent=2))
    typer.echo(printable(engine_cli.cli_progress.summary(result)), err=True)
    raise typer.Exit(0 if result.ok else EXIT_FAILED)


@app.command()
def stats(graph: str, limit: Annotated[int, typer.Option(min=1, help="Newest runs to include.")] = 1000,
          db: DbOpt = None) -> None:
    """Latency p50/p95, success rate, retries and cost per 1,000 runs, per graph and node."""
    async def gather(ws: Workspace) -> tuple[Any, dict[str, str]]:
        result = await ws.stats(graph, limit)
        try:
            breakers = ws.breakers_of((await ws.store.get_graph(graph)).spec)
        except NotFound:  # runs of a graph no longer stored
            breakers = {}
        return result, breakers

    with boundary():
        result, breakers = with_workspace(db, [], gather)
    g = result.graph
    typer.echo(f"graph {graph}: {g.runs} runs, p50 {duration(g.p50)}, p95 {duration(g.p95)}, "
               f"success {percent(g.success_rate)}, cost per 1K runs {cost(g.cost_per_1k_runs)}")
    table = [["NODE", "RUNS", "P50", "P95", "SUCCESS", "RETRIES", "COST/1K RUNS"]]
    table += [[n.node_id, str(n.runs), duration(n.p50), duration(n.p95), percent(n.success_rate), str(n.retries),
               cost(n.cost_per_1k_runs)] for n in result.nodes]
    engine_cli.print_columns(table)
    for name, state in breakers.items():
        typer.echo(printable(f"breaker {name}: {state.replace('_', '-')}"))


@app.command("export")
def export_graph(graph: str, version: Annotated[int | None, typer.Option()] = None,
                 output: Annotated[Path | None, typer.Option("--output", "-o", dir_okay=False)] = None,
                 db: DbOpt = None) -> None:
    """Write a stored graph as JSON (stdout, or --output FILE)."""
    with boundary():
        stored = with_workspace(db, [], lambda ws: ws.store.get_graph(graph, version))
        text = stored.spec.to_json()
        if output is None:
            typer.echo(text)
        else:
            output.write_text(text + "\n", encoding="utf-8")
            typer.echo(f"wrote {graph} version {stored.version} to {output}", err=True)


@app.command("import")
def import_graph(file: engine_cli.GraphArg, plugin: PluginOpt = [], db: DbOpt = None) -> None:  # noqa: B006
    """Validate a graph file and store it as a new version (nothing in it is run)."""
    with boundary(file):
        compiled = engine_cli.load_compiled(file, engine_cli.load_registry(plugin))
        stored = with_workspace(db, plugin, lambda ws: ws.save_if_changed(compiled.spec))
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
) -> None:
    """Start the canvas in the browser (the sample graphs are there on first start)."""
    if generate_token:
        from graphflow.ui.auth import new_token

        typer.echo(new_token())
        return
    from graphflow.ui.app import check_bind, start  # nicegui is imported only for this command

    with boundary():
        check_bind(host, token)
        start(host=host, port=port, db=db or default_db_path(), token=token, plugins=plugin, allowed=allowed_host)


def main() -> None:
    os.environ.setdefault("GRAPHFLOW_CLI", "1")
    app(prog_name="graphflow")


if __name__ == "__main__":
    main()
