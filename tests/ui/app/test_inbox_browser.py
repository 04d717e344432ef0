"""The inbox in chromium: four runs wait for a review (three support replies, one label); the
keyboard approves, edits, rejects and labels them, and each run continues to its end."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from app_support import ended_in, graphflow_command, serve_env
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser
SAMPLE = Path(__file__).parents[3] / "sample_graphs" / "support_review.json"
LABEL_GRAPH = {"schema_version": 1, "id": "inbox_labels", "nodes": [
    {"id": "in", "kind": "input", "config": {"name": "x", "type": "object", "example": {"label": "spam"}}},
    {"id": "r", "kind": "review", "config": {"variant": "label", "labels": ["spam", "ham"], "proposal_field": "label"}},
    {"id": "y", "kind": "output", "config": {"name": "y"}}], "edges": [
    {"id": "e1", "source": "in", "target": "r"}, {"id": "e2", "source": "r", "target": "y"}]}


def waiting_run(db: Path, graph: Path) -> str:
    done = subprocess.run(graphflow_command("run", str(graph), "--example", "--db", str(db), "--progress", "none"),
                          env=serve_env(db), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stderr.split("waiting: run ", 1)[1].split()[0]


def ended(db: Path, run_id: str) -> dict[str, object]:
    run = ended_in(db, run_id)
    assert run.status == "succeeded", (run.status, run.outputs)
    return run.outputs


def test_the_inbox_approves_edits_rejects_and_labels_and_the_runs_continue(page: Page, served, tmp_path: Path):
    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps(LABEL_GRAPH))
    runs = [waiting_run(served.db, SAMPLE) for _ in range(3)] + [waiting_run(served.db, labels)]
    page.goto(served.url + "/inbox")
    mine = page.locator("[data-testid=review-item]").filter(has=page.locator("a"))
    for run_id in runs:
        expect(page.locator(f"[data-testid=review-item][data-run='{run_id}']")).to_be_visible(timeout=15_000)
    expect(page.get_by_test_id("inbox-count")).not_to_have_text("")
    assert mine.count() >= 4

    def select(run_id: str) -> None:
        card = page.locator(f"[data-testid=review-item][data-run='{run_id}']")
        card.get_by_test_id("review-age").click()  # clicking the card selects it
        expect(card).to_have_attribute("data-selected", "true")

    select(runs[0])
    page.keyboard.press("a")
    assert ended(served.db, runs[0])["sent"]["sent"].startswith("Thanks for letting us know")  # type: ignore[index]

    select(runs[1])
    page.keyboard.press("e")
    page.locator(".q-dialog textarea").fill("We refunded the second charge.")
    page.get_by_test_id("dialog-ok").click()
    assert ended(served.db, runs[1])["sent"]["sent"] == "We refunded the second charge."  # type: ignore[index]

    select(runs[2])
    page.keyboard.press("r")
    page.locator(".q-dialog input").fill("wrong topic")
    page.get_by_test_id("dialog-ok").click()
    assert ended(served.db, runs[2])["rejected"]["reason"] == "wrong topic"  # type: ignore[index]

    select(runs[3])
    page.keyboard.press("l")
    page.locator("[data-testid=label-choice][data-label=ham]").click()
    assert ended(served.db, runs[3]) == {"y": "ham"}

    for run_id in runs:  # decided items leave the inbox
        expect(page.locator(f"[data-testid=review-item][data-run='{run_id}']")).to_have_count(0)
