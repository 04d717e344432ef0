"""Running a graph from the command line: inputs, progress on stderr, Ctrl+C, outputs on
stdout, the exit code. Imported by the commands that run something, so the engine, anyio
and rich load only for them."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import anyio
import typer
from anyio.abc import TaskStatus

from graphflow import cli_progress
from graphflow.compile import CompiledGraph
from graphflow.inputs import check_run_inputs, parse_input_text
from graphflow.ports import EventSink
from graphflow.runner import RunControl, RunResult
from graphflow.text import printable

from .boundary import EXIT_CANCELLED, EXIT_FAILED, CliError, boundary, error

StartRun = Callable[[CompiledGraph, dict[str, Any], list[EventSink], RunControl], Awaitable[RunResult]]


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed (JSON has no NaN or Infinity)")


def read_json(option: str, name: str) -> Any:
    """An option's JSON value, given inline or as ``@FILE``."""
    text = Path(option[1:]).read_text(encoding="utf-8") if option.startswith("@") else option
    try:
        return json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise CliError(f"{name} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except ValueError as exc:  # NaN/Infinity, or an integer past the 4,300-digit limit
        raise CliError(f"{name}: {str(exc).split(';')[0]}") from None


def collect_inputs(graph: CompiledGraph, pairs: Sequence[str], input_json: str | None,
                   example: bool = False) -> dict[str, Any]:
    """``--input-json`` first, then each ``--input name=value`` (converted to the input's type);
    with ``example``, every input still missing takes its node's ``example``."""
    values: dict[str, Any] = {}
    if input_json is not None:
        data = read_json(input_json, "--input-json")
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
        elif cfg.is_required:
            missing.append(cfg.name)
    if missing:
        names = ", ".join(repr(m) for m in missing)
        given = " ".join(f"--input {m}=VALUE" for m in missing)
        raise CliError(f"--example: required input{'s' if len(missing) > 1 else ''} {names} "
                       f"{'have' if len(missing) > 1 else 'has'} no example; give {given}")


def run_and_report(compiled: CompiledGraph, inputs: dict[str, Any], *, quiet: bool, progress: str,
                   events_jsonl: Path | None, start: StartRun) -> None:
    """Run with progress and Ctrl+C handling; the outputs on stdout, the exit code from the status."""
    with contextlib.ExitStack() as stack:
        sinks: list[EventSink] = []
        if events_jsonl is not None:
            sinks.append(cli_progress.JsonlSink(stack.enter_context(events_jsonl.open("w", encoding="utf-8"))))
        display = cli_progress.make_display("none" if quiet else progress, is_tty=sys.stderr.isatty())
        if display is not None:
            sinks.append(stack.enter_context(display))
        try:
            result = anyio.run(run_interruptible, compiled, inputs, sinks, start)
        except KeyboardInterrupt:
            error("stopped (interrupted)")
            raise typer.Exit(EXIT_CANCELLED) from None
    report(result, quiet=quiet)


def report(result: RunResult, *, quiet: bool = False) -> None:
    typer.echo(json.dumps(result.outputs, indent=2))
    if not quiet or not result.ok:
        line = cli_progress.summary(result)
        typer.echo(typer.style(printable(line), fg=cli_progress.STATUS_COLORS.get(result.status)), err=True)
    raise typer.Exit({"succeeded": 0, "waiting": 0, "failed": EXIT_FAILED}.get(result.status, EXIT_CANCELLED))


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


__all__ = ["boundary", "collect_inputs", "report", "run_and_report"]
