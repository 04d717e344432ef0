"""The editor follows a run it shows when the server's watcher continues it: a timer falling due,
then an event sent from another process, each move the canvas on without a click."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from app_support import graphflow_command, serve_env
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

GRAPH = {"schema_version": 1, "id": "woken", "name": "Woken", "nodes": [
    {"id": "d", "kind": "delay", "config": {"seconds": 2, "hold": 0}, "position": {"x": 0, "y": 0}},
    {"id": "w", "kind": "wait_event", "config": {"event": "go"}, "position": {"x": 240, "y": 0}},
    {"id": "y", "kind": "output", "config": {"name": "y"}, "position": {"x": 480, "y": 0}}],
    "edges": [{"id": "e1", "source": "d", "target": "w"}, {"id": "e2", "source": "w", "target": "y"}]}


def cli(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(graphflow_command(*args, "--db", str(db)), env=serve_env(db), capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done


def test_the_canvas_follows_a_run_the_watcher_continues(page: Page, served, tmp_path: Path):
    graph = tmp_path / "woken.json"
    graph.write_text(json.dumps(GRAPH))
    cli(served.db, "import", str(graph))
    page.goto(served.url + "/graph/woken")
    expect(page.locator(".gf-canvas-root[data-ready=true]")).to_be_visible()
    page.get_by_test_id("run").click()
    delay, wait = page.locator('[data-node-id="d"]'), page.locator('[data-node-id="w"]')
    expect(delay).to_have_attribute("data-status", "waiting", timeout=15_000)
    expect(page.get_by_test_id("run-status")).to_have_text("waiting")

    expect(delay).to_have_attribute("data-status", "succeeded", timeout=20_000)  # the timer, by the watcher
    expect(wait).to_have_attribute("data-status", "waiting", timeout=15_000)
    run_id = page.get_by_test_id("run-id").inner_text().split()[1]
    cli(served.db, "send", run_id, "go", "--data", '"from the shell"', "--no-continue")
    expect(wait).to_have_attribute("data-status", "succeeded", timeout=20_000)  # the event, by the watcher
    expect(page.get_by_test_id("run-status")).to_have_text("succeeded")
    expect(page.get_by_test_id("run-outputs")).to_contain_text("from the shell")
