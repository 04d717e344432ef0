"""Where the command line meets errors: exit codes, one-line messages, plain tables."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import typer

from graphflow.errors import (
    GraphflowError,
    GraphValidationError,
    NotFound,
    RegistryError,
    RunInputError,
    StoreNeeded,
)
from graphflow.text import printable

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_CANCELLED = 130


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
        if not isinstance(leaf, CliError | GraphflowError | OSError | NotFound):
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
    except (RunInputError, RegistryError, StoreNeeded) as exc:
        error(str(exc))
        raise typer.Exit(EXIT_USAGE) from None
    except NotFound as exc:
        # NotFound is a KeyError, whose str() is the repr of its message
        error(str(exc.args[0]) if exc.args else str(exc))
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


def print_columns(rows: list[list[str]]) -> None:
    """A table on stdout; every cell on one line, control characters escaped."""
    rows = [[printable(cell, one_line=True) for cell in row] for row in rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        typer.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)) + "  " + row[-1])

