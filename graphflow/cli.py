"""The ``graphflow`` command line.

Commands: ``validate``, ``run``, ``kinds``, ``functions``. The typer app leaves room for
later ones (serve, runs, show, resume, stats, export, import): each is one more
``@app.command()``.

Exit codes: 0 ok, 1 invalid graph or failed run, 2 usage or input error, 130 cancelled
(Ctrl+C). Errors graphflow raises on purpose (``GraphflowError``) and ``OSError`` become
one line on stderr here, at the boundary, never a traceback.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Iterator, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import anyio
import typer
from anyio.abc import TaskStatus

import graphflow
from graphflow import cli_progress
from graphflow.compile import CompiledGraph
from graphflow.errors import GraphflowError, GraphValidationError, RegistryError, RunInputError
from graphflow.inputs import check_run_inputs, parse_input_text
from graphflow.nodes.base import NodeKind
from graphflow.ports import EventSink
from graphflow.registry import Registry, default_registry
from graphflow.runner import RunControl, RunResult
from graphflow.text import printable

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_CANCELLED = 130

app = typer.Typer(
    name="graphflow",
    help="Build, validate and run graphflow workflow graphs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)


class CliError(Exception):
    """A usage or input problem, reported as one line with its exit code."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


def error(message: str) -> None:
    typer.echo(typer.style("error: ", fg="red", bold=True) + printable(message), err=True)


@contextlib.contextmanager
def boundary(graph_path: str | None = None) -> Iterator[None]:
    """Turn the errors graphflow raises on purpose into a message and an exit code."""
    try:
        yield
    except BaseExceptionGroup as group:  # raised through a task group: report the error inside
        leaf = first_leaf(group)
        if not isinstance(leaf, CliError | GraphflowError | OSError):
            raise
        with boundary(graph_path):
            raise leaf from None
    except CliError as exc:
        error(str(exc))
        raise typer.Exit(exc.code) from None
    except GraphValidationError as exc:
        where = f"{graph_path}: " if graph_path else ""
        for problem in exc.problems:
            typer.echo(printable(f"{where}{problem}"), err=True)
        error(f"invalid graph ({len(exc.problems)} problem{'s' if len(exc.problems) != 1 else ''})")
        raise typer.Exit(EXIT_FAILED) from None
    except (RunInputError, RegistryError) as exc:
        error(str(exc))
        raise typer.Exit(EXIT_USAGE) from None
    except GraphflowError as exc:
        error(str(exc))
        raise typer.Exit(EXIT_FAILED) from None
    except OSError as exc:
        error(f"{exc.filename}: {exc.strerror}" if exc.filename and exc.strerror else str(exc))
        raise typer.Exit(EXIT_USAGE) from None


def first_leaf(error: BaseException) -> BaseException:
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    return error


def load_registry(plugins: Sequence[str]) -> Registry:
    return default_registry(plugins)


def load_compiled(path: str, registry: Registry) -> CompiledGraph:
    """Read a graph file (``-`` for stdin) and run every check on it."""
    text: str | bytes = sys.stdin.read() if path == "-" else Path(path).read_bytes()
    return graphflow.validate_graph(text, registry)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed (JSON has no NaN or Infinity)")


def collect_inputs(graph: CompiledGraph, pairs: Sequence[str], input_json: str | None,
                   example: bool = False) -> dict[str, Any]:
    """``--input-json`` first, then each ``--input name=value`` (converted to the input's type);
    with ``example``, every input still missing takes its node's ``example``."""
    values: dict[str, Any] = {}
    if input_json is not None:
        text = Path(input_json[1:]).read_text(encoding="utf-8") if input_json.startswith("@") else input_json
        try:
            data = json.loads(text, parse_constant=_no_constant)
        except json.JSONDecodeError as exc:
            where = f"line {exc.lineno} column {exc.colno}"
            raise CliError(f"--input-json is not valid JSON: {exc.msg} at {where}") from None
        except ValueError as exc:  # NaN/Infinity, or an integer past the 4,300-digit limit
            raise CliError(f"--input-json: {str(exc).split(';')[0]}") from None
        if not isinstance(data, dict):
            raise CliError(f"--input-json must be a JSON object, not {type(data).__name__}")
        values.update(data)
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name.strip():
            raise CliError(f"--input {pair!r}: expected name=value")
        values[name.strip()] = parse_input_text(graph, name.strip(), text)
    if example:
        fill_examples(graph, values)
    return check_run_inputs(graph, values)


def fill_examples(graph: CompiledGraph, values: dict[str, Any]) -> None:
    """Give every input not in ``values`` its example; a required one without an example is an error
    (an optional one without an example keeps its default)."""
    missing = []
    for cfg in (n.config for n in graph.input_nodes()):
        if cfg.name in values:
            continue
        if cfg.example is not None:
            values[cfg.name] = cfg.example
        elif cfg.required:
            missing.append(cfg.name)
    if missing:
        names = ", ".join(repr(m) for m in missing)
        given = " ".join(f"--input {m}=VALUE" for m in missing)
        raise CliError(f"--example: required input{'s' if len(missing) > 1 else ''} {names} "
                       f"{'have' if len(missing) > 1 else 'has'} no example; give {given}")


GraphArg = Annotated[str, typer.Argument(metavar="GRAPH.json", help="Graph file, or - for stdin.", show_default=False)]
PluginOpt = Annotated[
    list[str],
    typer.Option("--plugin", "-p", metavar="MODULE", help="Import MODULE and call its register(registry)."),
]
ExampleOpt = Annotated[bool, typer.Option(
    "--example", help="Every input not given takes the example its input node declares.")]


class ProgressMode(StrEnum):
    auto = "auto"
    lines = "lines"
    table = "table"
    none = "none"


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
    """Build, validate and run graphflow workflow graphs."""


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
    example: ExampleOpt = False,
    plugin: PluginOpt = [],  # noqa: B006
    max_concurrency: Annotated[int, typer.Option(min=1, help="Most nodes running at once.")] = 64,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress; summary only if the run fails.")] = False,
    progress: Annotated[
        ProgressMode, typer.Option(help="auto: a live table on a terminal, lines elsewhere.")
    ] = ProgressMode.auto,
    events_jsonl: Annotated[
        Path | None, typer.Option(metavar="FILE", help="Write every event as a JSON line.", dir_okay=False)
    ] = None,
) -> None:
    """Run a graph: progress on stderr, the outputs as JSON on stdout."""
    run_and_report(graph, input, input_json, plugin, quiet, progress, events_jsonl,
                   lambda compiled, inputs, sinks, control: graphflow.run(
                       compiled, inputs, sinks=sinks, max_concurrency=max_concurrency, control=control),
                   example=example)


StartRun = Callable[[CompiledGraph, dict[str, Any], list[EventSink], RunControl], Awaitable[RunResult]]


def run_and_report(graph: str, input: Sequence[str], input_json: str | None, plugin: Sequence[str], quiet: bool,
                   progress: ProgressMode, events_jsonl: Path | None, start: StartRun, *,
                   example: bool = False) -> None:
    """Shared by every command that runs a graph: inputs, progress, Ctrl+C, outputs, exit code."""
    with boundary(graph):
        compiled = load_compiled(graph, load_registry(plugin))
        inputs = collect_inputs(compiled, input, input_json, example)
        with contextlib.ExitStack() as stack:
            sinks: list[EventSink] = []
            if events_jsonl is not None:
                sinks.append(cli_progress.JsonlSink(stack.enter_context(events_jsonl.open("w", encoding="utf-8"))))
            mode = ProgressMode.none.value if quiet else progress.value
            display = cli_progress.make_display(mode, is_tty=sys.stderr.isatty())
            if display is not None:
                sinks.append(stack.enter_context(display))
            try:
                result = anyio.run(run_interruptible, compiled, inputs, sinks, start)
            except KeyboardInterrupt:
                error("stopped (interrupted)")
                raise typer.Exit(EXIT_CANCELLED) from None
    typer.echo(json.dumps(result.outputs, indent=2))
    if not quiet or not result.ok:
        line = cli_progress.summary(result)
        typer.echo(typer.style(printable(line), fg=cli_progress.STATUS_COLORS.get(result.status)), err=True)
    raise typer.Exit({"succeeded": 0, "failed": EXIT_FAILED}.get(result.status, EXIT_CANCELLED))


async def run_interruptible(graph: CompiledGraph, inputs: dict[str, Any], sinks: list[EventSink],
                            start: StartRun) -> RunResult:
    """Run with Ctrl+C wired to ``RunControl.cancel``; a second Ctrl+C stops the process at once."""
    control = RunControl()
    async with anyio.create_task_group() as tg:
        await tg.start(watch_interrupts, control)
        result = await start(graph, inputs, sinks, control)
        tg.cancel_scope.cancel()
    return result


async def watch_interrupts(control: RunControl, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
    try:
        if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:  # e.g. a background job: leave it ignored
            raise NotImplementedError
        receiver = anyio.open_signal_receiver(signal.SIGINT)
        signals = receiver.__enter__()
    except (NotImplementedError, RuntimeError, ValueError):  # Windows, or not the main thread
        task_status.started()  # Ctrl+C then raises KeyboardInterrupt, which ``run`` turns into exit 130
        await anyio.sleep_forever()
        return
    try:
        task_status.started()
        async for _ in signals:
            if control.cancelled:  # a node ignores cancellation (e.g. blocking code in a thread)
                error("stopped at once (second Ctrl+C); the run did not finish cancelling")
                sys.stderr.write("\x1b[?25h" if sys.stderr.isatty() else "")  # a live table hid the cursor
                sys.stderr.flush()
                os._exit(EXIT_CANCELLED)
            typer.echo("\ninterrupted: cancelling the run (Ctrl+C again to stop at once)", err=True)
            control.cancel("interrupted (Ctrl+C)")
    finally:
        receiver.__exit__(None, None, None)


def ports_text(ports: list[dict[str, Any]]) -> str:
    """``in:any`` per port; ``?`` marks an optional input, ``*`` one that takes many edges."""
    return ", ".join(
        f"{p['name']}:{p['type']}{'' if p.get('required', True) else '?'}{'*' if p.get('multi') else ''}" for p in ports
    ) or "-"


def print_columns(rows: list[list[str]]) -> None:
    """A table on stdout; every cell on one line, control characters escaped."""
    rows = [[printable(cell, one_line=True) for cell in row] for row in rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        typer.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)) + "  " + row[-1])


@app.command()
def kinds(plugin: PluginOpt = [],  # noqa: B006
          as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False) -> None:
    """List the registered node kinds with their ports."""
    with boundary():
        registry = load_registry(plugin)
    described: list[dict[str, Any]] = []
    rows = [["KIND", "TITLE", "INPUTS", "OUTPUTS"]]
    for kind in registry.kinds.values():
        d = kind.describe()
        ins, outs = ports_text(d["inputs"]), ports_text(d["outputs"])
        if type(kind).input_ports is not NodeKind.input_ports:
            ins = "per config" if ins == "-" else f"{ins} (type per config)"
        if type(kind).output_ports is not NodeKind.output_ports:
            outs = "per config" if outs == "-" else f"{outs} (type per config)"
        rows.append([d["kind"], d["title"], ins, outs])
        described.append({k: d[k] for k in ("kind", "title", "category", "description", "inputs", "outputs")})
    if as_json:
        typer.echo(json.dumps(described, indent=2))
        return
    print_columns(rows)


@app.command()
def functions(plugin: PluginOpt = [],  # noqa: B006
              as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False) -> None:
    """List the registered Python functions that function nodes may call."""
    with boundary():
        registry = load_registry(plugin)
    entries = sorted(registry.functions.values(), key=lambda e: e.name)
    if as_json:
        typer.echo(json.dumps([{"name": e.name, "async": e.is_async, "blocking": e.blocking,
                                "wants_ctx": e.wants_ctx, "description": e.description} for e in entries], indent=2))
        return
    if not entries:
        typer.echo("no functions registered (load a plugin module with --plugin MODULE)", err=True)
        return
    rows = [["NAME", "CALL", "DESCRIPTION"]]
    rows += [[e.name, ("async" if e.is_async else "sync") + (", blocking" if e.blocking else ""), e.description]
             for e in entries]
    print_columns(rows)


def main() -> None:
    app(prog_name="graphflow")


__all__ = ["app", "main"]

if __name__ == "__main__":
    main()
