"""``graphflow credentials set|list|delete NAME``: named credentials, stored encrypted.

A value is read from stdin when it is piped (``printf %s "$KEY" | graphflow credentials set
openai``) or from a hidden prompt, never from the command line (argv is visible to every
user of the machine and lands in shell history), and is never printed back.
"""

from __future__ import annotations

import getpass
import sys
from typing import Annotated

import typer

from graphflow.formatting import when

from .boundary import EXIT_USAGE, CliError, boundary, print_columns
from .commands import DbOpt, app, with_workspace

credentials_app = typer.Typer(name="credentials", no_args_is_help=True, help=(
    "Named credentials (API keys, tokens) that graphs use by name; stored encrypted in the database, "
    "with the key outside it ($GRAPHFLOW_SECRET_KEY or a key file)."))
NameArg = Annotated[str, typer.Argument(metavar="NAME", help="The name graphs and providers use.")]


def _checked(name: str) -> str:
    from graphflow.secrets import check_credential_name

    try:
        return check_credential_name(name)
    except ValueError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None


def _read_value(name: str) -> str:
    if sys.stdin is not None and not sys.stdin.isatty():
        value = sys.stdin.read()
        value = value[:-2] if value.endswith("\r\n") else value[:-1] if value.endswith("\n") else value
    else:
        value = getpass.getpass(f"value of {name} (hidden): ")
    if not value:
        raise CliError(f"credential {name!r}: no value given (pipe it on stdin or type it at the prompt)")
    return value


@credentials_app.command("set")
def set_credential(name: NameArg, db: DbOpt = None) -> None:
    """Create or replace NAME; the value comes from stdin or a hidden prompt."""
    with boundary():
        _checked(name)
        value = _read_value(name)
        info = with_workspace(db, None, lambda ws: ws.set_credential(name, value))
    verb = "replaced" if info.updated_at != info.created_at else "stored"
    typer.echo(f"{verb} credential {name} (encrypted)", err=True)


@credentials_app.command("list")
def list_credentials(db: DbOpt = None) -> None:
    """The stored credentials' names and dates (never their values)."""
    with boundary():
        rows = with_workspace(db, None, lambda ws: ws.credentials())
    table = [["NAME", "CREATED", "UPDATED"]]
    table += [[c.name, when(c.created_at), when(c.updated_at)] for c in rows]
    print_columns(table)


@credentials_app.command("delete")
def delete_credential(name: NameArg, db: DbOpt = None) -> None:
    """Delete NAME."""
    with boundary():
        _checked(name)
        if not with_workspace(db, None, lambda ws: ws.delete_credential(name)):
            raise CliError(f"no stored credential named {name!r}")
    typer.echo(f"deleted credential {name}", err=True)


def register() -> None:
    app.add_typer(credentials_app)
