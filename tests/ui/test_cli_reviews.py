"""graphflow reviews: list (filters), approve / edit / reject / label / answer, export labels as JSONL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from graphflow.ui.cli import app

runner = CliRunner()
SAMPLE = str(Path(__file__).parents[2] / "sample_graphs" / "support_review.json")
LABEL_GRAPH = {"schema_version": 1, "id": "labelling", "nodes": [
    {"id": "in", "kind": "input", "config": {"name": "x", "type": "object", "example": {"label": "a"}}},
    {"id": "r", "kind": "review", "config": {"variant": "label", "labels": ["a", "b"], "proposal_field": "label"}},
    {"id": "y", "kind": "output", "config": {"name": "y"}}], "edges": [
    {"id": "e1", "source": "in", "target": "r"}, {"id": "e2", "source": "r", "target": "y"}]}


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "gf.db")


def pending(db: str, *args: str) -> list[dict[str, object]]:
    done = runner.invoke(app, ["reviews", "--json", "--db", db, *args])
    assert done.exit_code == 0, done.output
    return json.loads(done.stdout)


def waiting_run(db: str, graph: str = SAMPLE) -> str:
    done = runner.invoke(app, ["run", graph, "--example", "--db", db, "--progress", "none"])
    assert done.exit_code == 0, done.output
    (item,) = [i for i in pending(db) if i["graph_id"] == json.loads(Path(graph).read_text())["id"]]
    return str(item["id"])


def test_list_and_approve_the_sample(db: str) -> None:
    item = waiting_run(db)
    table = runner.invoke(app, ["reviews", "--db", db])
    assert item in table.stdout and "low_confidence" in table.stdout and "0.80" in table.stdout
    assert pending(db, "--graph", "other") == [] and pending(db, "--reason", "high_value") == []
    assert [i["id"] for i in pending(db, "--reason", "low_confidence", "--graph", "support_review")] == [item]
    done = runner.invoke(app, ["reviews", "approve", item, "--by", "ana", "--db", db])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["sent"]["sent"].startswith("Thanks for letting us know")
    assert f"review item {item} approved by ana" in done.stderr
    again = runner.invoke(app, ["reviews", "approve", item, "--db", db])
    assert again.exit_code == 1 and "already decided (approved by ana)" in again.stderr
    assert pending(db) == []
    assert [i["status"] for i in pending(db, "--status", "all")] == ["approved"]


def test_edit_and_reject(db: str) -> None:
    first = waiting_run(db)
    done = runner.invoke(app, ["reviews", "edit", first, "Fixed: refunded.", "--db", db])
    assert done.exit_code == 0 and json.loads(done.stdout)["sent"]["sent"] == "Fixed: refunded."
    second = waiting_run(db)
    no_reason = runner.invoke(app, ["reviews", "reject", second, "--db", db])
    assert no_reason.exit_code == 1 and "a rejection needs a reason" in no_reason.stderr
    assert [i["id"] for i in pending(db)] == [second]  # nothing changed
    done = runner.invoke(app, ["reviews", "reject", second, "--reason", "wrong topic", "--db", db])
    assert done.exit_code == 0 and json.loads(done.stdout)["rejected"]["reason"] == "wrong topic"


def test_label_and_export(db: str, tmp_path: Path) -> None:
    graph = tmp_path / "label.json"
    graph.write_text(json.dumps(LABEL_GRAPH))
    item = waiting_run(db, str(graph))
    wrong = runner.invoke(app, ["reviews", "label", item, "c", "--db", db])
    assert wrong.exit_code == 1 and "label 'c' is not one of a, b" in wrong.stderr
    done = runner.invoke(app, ["reviews", "label", item, "b", "--by", "di", "--db", db])
    assert done.exit_code == 0 and json.loads(done.stdout) == {"y": "b"}
    out = tmp_path / "labels.jsonl"
    exported = runner.invoke(app, ["reviews", "export", "--labels", str(out), "--db", db])
    assert exported.exit_code == 0 and "wrote 1 label" in exported.stderr
    (line,) = [json.loads(x) for x in out.read_text().splitlines()]
    assert (line["label"], line["proposal"], line["by"], line["input"]) == ("b", "a", "di", {"label": "a"})


def test_an_unknown_item_is_one_line(db: str) -> None:
    done = runner.invoke(app, ["reviews", "approve", "nope", "--db", db])
    assert done.exit_code == 2 and "no review item 'nope'" in done.stderr
