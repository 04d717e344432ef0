"""``graphflow reviews``: the review inbox from the terminal (list, decide, export labels).

A decision is made through the workspace: the item and its node's wake in one transaction,
then the run continues here (unless ``--no-continue`` or another process holds it).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from graphflow.formatting import age, when
from graphflow.text import printable

from .boundary import EXIT_FAILED, CliError, boundary, print_columns
from .commands import DbOpt, PluginOpt, app, load_registry, with_workspace

if TYPE_CHECKING:
    from graphflow.ports import ReviewItem
    from graphflow.service import Workspace

reviews_app = typer.Typer(name="reviews", invoke_without_command=True, help=(
    "Review items that runs wait on (human review nodes): list them, approve, edit, reject, label or "
    "answer one (its run continues), export the labels as JSONL."))
ItemArg = Annotated[str, typer.Argument(metavar="ITEM", help="The item's id (RUN_ID.NODE_ID), from the list.")]
ByOpt = Annotated[str, typer.Option("--by", help="Who decides (kept on the item and in the run).")]
ReasonOpt = Annotated[str, typer.Option("--reason", help="Why (a rejection needs one).")]
NoContinue = Annotated[bool, typer.Option("--no-continue", help="Only decide; a running graphflow serve "
                                                                 "continues the run.")]
PROPOSAL_WIDTH = 60


def _who() -> str:
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no user name in this environment
        return "cli"


def _short(value: Any, width: int = PROPOSAL_WIDTH) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= width else text[: width - 1] + "…"


@reviews_app.callback()
def list_reviews(
    ctx: typer.Context,
    graph: Annotated[str | None, typer.Option("--graph", help="Only this graph's items.")] = None,
    reason: Annotated[str | None, typer.Option("--reason", help=(
        "Only items queued for this reason (low_confidence, model_uncertainty, high_value, escalation, ...)."))] = None,
    status: Annotated[str, typer.Option("--status", help="pending, approved, edited, rejected, labelled, "
                                        "answered, timed_out, closed, or all.")] = "pending",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    db: DbOpt = None,
) -> None:
    """Pending review items, oldest first: why each waits, its confidence, how long it has waited."""
    if ctx.invoked_subcommand is not None:
        return
    with boundary():
        items = with_workspace(db, None, lambda ws: ws.reviews(
            status=None if status == "all" else status, graph_id=graph, reason=reason))
    if as_json:
        typer.echo(json.dumps([_as_json(i) for i in items], indent=2))
        return
    if not items:
        typer.echo("no review item " + ("is pending" if status == "pending" else f"is {status}"), err=True)
        return
    now = time.time()
    table = [["ITEM", "GRAPH", "REASON", "CONF", "WAITED", "TAKES", "STATUS", "PROPOSAL"]]
    for item in items:
        conf = "-" if item.confidence is None else f"{item.confidence:.2f}"
        takes = item.variant + (f" ({', '.join(item.labels)})" if item.labels else "")
        table.append([item.id, item.graph_id, item.reason, conf, age(now - item.created_at), takes,
                      item.status if not item.decided_by else f"{item.status} by {item.decided_by}",
                      _short(item.detail.get("proposal"))])
    print_columns(table)


def _as_json(item: ReviewItem) -> dict[str, Any]:
    return {"id": item.id, "run_id": item.run_id, "node_id": item.node_id, "graph_id": item.graph_id,
            "status": item.status, "reason": item.reason, "confidence": item.confidence, "variant": item.variant,
            "labels": item.labels, "proposal": item.detail.get("proposal"), "context": item.detail.get("context"),
            "created_at": item.created_at, "due_at": item.due_at, "decided_at": item.decided_at,
            "decided_by": item.decided_by, "decision": item.decision}


def _decide(item_id: str, decision: dict[str, Any], by: str, no_continue: bool, plugin: list[str],
            db: Path | None) -> None:
    from graphflow.errors import WakeRefused

    from .running import report

    async def work(ws: Workspace) -> Any:
        try:
            return await ws.decide(item_id, decision, by=by or _who(), go_on=not no_continue)
        except WakeRefused as exc:
            raise CliError(str(exc), EXIT_FAILED) from None

    with boundary():
        decided = with_workspace(db, load_registry(plugin), work)
    item = decided.item
    typer.echo(printable(f"review item {item.id} {item.status} by {item.decided_by} at {when(item.decided_at)}"),
               err=True)
    if decided.result is not None:
        report(decided.result)
    elif not no_continue:
        typer.echo("another process holds the run; it continues there", err=True)


@reviews_app.command()
def approve(item: ItemArg, reason: ReasonOpt = "", by: ByOpt = "", no_continue: NoContinue = False,
            plugin: PluginOpt = [], db: DbOpt = None) -> None:  # noqa: B006 (typer reads the default)
    """Approve the proposal: the run continues with it."""
    _decide(item, {"decision": "approve", "reason": reason}, by, no_continue, plugin, db)


@reviews_app.command()
def edit(item: ItemArg,
         value: Annotated[str, typer.Argument(metavar="VALUE", help="The edited proposal (text; JSON with --json).")],
         as_json: Annotated[bool, typer.Option("--json", help="VALUE is JSON (or @FILE).")] = False,
         reason: ReasonOpt = "", by: ByOpt = "", no_continue: NoContinue = False,
         plugin: PluginOpt = [], db: DbOpt = None) -> None:  # noqa: B006
    """Edit the proposal: the run continues with the edited value."""
    from .running import read_json

    with boundary():
        edited = read_json(value, "VALUE") if as_json else value
    _decide(item, {"decision": "edit", "value": edited, "reason": reason}, by, no_continue, plugin, db)


@reviews_app.command()
def reject(item: ItemArg, reason: Annotated[str, typer.Option("--reason", help="Why (required).")] = "",
           by: ByOpt = "", no_continue: NoContinue = False, plugin: PluginOpt = [],  # noqa: B006
           db: DbOpt = None) -> None:
    """Reject the proposal, with a reason: the run takes its rejected path (or the node fails)."""
    _decide(item, {"decision": "reject", "reason": reason}, by, no_continue, plugin, db)


@reviews_app.command()
def label(item: ItemArg, the_label: Annotated[str, typer.Argument(metavar="LABEL", help="The correct label.")],
          reason: ReasonOpt = "", by: ByOpt = "", no_continue: NoContinue = False,
          plugin: PluginOpt = [], db: DbOpt = None) -> None:  # noqa: B006
    """Give the correct label (a label review): stored for training, and the run continues with it."""
    _decide(item, {"decision": "label", "label": the_label, "reason": reason}, by, no_continue, plugin, db)


@reviews_app.command()
def answer(item: ItemArg, text: Annotated[str, typer.Argument(metavar="ANSWER", help="The answer (text, or JSON "
                                                               "with --json).")],
           as_json: Annotated[bool, typer.Option("--json", help="ANSWER is JSON (or @FILE).")] = False,
           by: ByOpt = "", no_continue: NoContinue = False, plugin: PluginOpt = [],  # noqa: B006
           db: DbOpt = None) -> None:
    """Take over an escalation: the run continues with your answer."""
    from .running import read_json

    with boundary():
        value = read_json(text, "ANSWER") if as_json else text
    _decide(item, {"decision": "answer", "value": value}, by, no_continue, plugin, db)


@reviews_app.command("export")
def export_labels(
    labels: Annotated[Path, typer.Option("--labels", metavar="FILE", help="Where the JSONL goes (- for stdout).",
                                         dir_okay=False)],
    graph: Annotated[str | None, typer.Option("--graph", help="Only this graph's labels.")] = None,
    db: DbOpt = None,
) -> None:
    """Export the labels reviewers gave as JSONL, one line per item: input, proposal, label, who, when."""
    from graphflow.storage.reviews import iter_jsonl

    with boundary():
        items = with_workspace(db, None, lambda ws: ws.labelled(graph))
        text = "".join(line + "\n" for line in iter_jsonl(items))
        if str(labels) == "-":
            typer.echo(text, nl=False)
        else:
            labels.write_text(text, encoding="utf-8")
    if str(labels) != "-":
        typer.echo(f"wrote {len(items)} label{'s' if len(items) != 1 else ''} to {labels}", err=True)


def register() -> None:
    app.add_typer(reviews_app)
