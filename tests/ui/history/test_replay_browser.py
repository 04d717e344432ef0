"""History, replay and stats in chromium, against the pages served by a process of their own
(serve_pages.py) on a database with three stored runs and a second graph version."""

from __future__ import annotations

import concurrent.futures
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import anyio
import pytest
from history_support import GRAPH_ID, graph_v2, registry_with, seed
from playwright.sync_api import Page, expect

import graphflow
from graphflow.service import Workspace
from graphflow.state import RunState
from graphflow.storage import open_store

HERE = Path(__file__).parent


@dataclass
class Served:
    url: str
    runs: dict[str, str]
    final: dict[str, RunState]
    calls: Path

    def calls_made(self) -> list[str]:
        return self.calls.read_text().split() if self.calls.exists() else []


async def prepare(db: Path) -> tuple[dict[str, str], dict[str, RunState]]:
    async with open_store(db) as store:
        workspace = Workspace(store, registry_with(lambda name: None))
        runs = await seed(workspace)
        await workspace.save(graphflow.load_graph(graph_v2()))
        await workspace.save_breakers()
        final = {name: RunState.from_events(await store.load_events(run_id)) for name, run_id in runs.items()}
    return runs, final


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("history")
    db, calls = folder / "gf.db", folder / "calls.txt"
    with concurrent.futures.ThreadPoolExecutor(1) as pool:  # a thread: playwright's loop may hold this one
        runs, final = pool.submit(anyio.run, prepare, db).result()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "NICEGUI_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")])
    server = subprocess.Popen([sys.executable, str(HERE / "serve_pages.py"), str(db), str(port), str(calls)],
                              env=env, cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{url}/graph/{GRAPH_ID}/runs", timeout=2):
                break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                output = server.stdout.read().decode() if server.stdout else ""
                raise RuntimeError(f"the page server did not start:\n{output}") from None
            time.sleep(0.1)
    try:
        yield Served(url, runs, final, calls)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        if server.stdout:
            server.stdout.close()


def canvas_ready(page: Page, nodes: int) -> None:
    expect(page.locator(".gf-canvas-root[data-ready=true]")).to_be_visible()
    expect(page.locator(".gf-node")).to_have_count(nodes)


def node(page: Page, node_id: str):
    return page.locator(f'.gf-node[data-node-id="{node_id}"]')


@pytest.mark.browser
def test_open_a_run_from_history_and_play_it_to_the_end(page: Page, served: Served):
    page.goto(f"{served.url}/graph/{GRAPH_ID}/runs")
    expect(page.get_by_test_id("run-link")).to_have_count(3)
    page.locator(f'[data-testid=run-link][data-run-id="{served.runs["retried"]}"]').click()
    canvas_ready(page, 4)
    expect(page.get_by_test_id("version-notice")).to_have_text(
        "This run used version 1; the graph is now at version 2; showing version 1.")
    expect(page.get_by_test_id("current-event")).to_contain_text("run_started")
    page.get_by_test_id("play").click()
    expect(page.get_by_test_id("final-status")).to_have_attribute("data-status", "succeeded")
    final = served.final["retried"]
    for node_id, record in final.nodes.items():
        expect(node(page, node_id)).to_have_attribute("data-status", record.status)
    expect(node(page, "count")).to_have_attribute("data-attempts", "2")
    expect(page.get_by_test_id("final-outputs")).to_contain_text('"result": 61')
    expect(page.locator(".gf-log-line.gf-current")).to_contain_text("run_finished")
    assert served.calls_made() == []


@pytest.mark.browser
def test_step_scrub_and_jump(page: Page, served: Served):
    page.goto(f"{served.url}/run/{served.runs['failed']}")
    canvas_ready(page, 4)
    current = page.get_by_test_id("current-event")
    expect(current).to_contain_text("#0")
    page.get_by_test_id("step").click()
    expect(current).to_contain_text("#1  ")
    expect(node(page, "in")).to_have_attribute("data-status", "succeeded")  # inline: only its outcome is recorded
    expect(node(page, "check")).not_to_have_attribute("data-status", "failed")
    box = page.locator(".q-slider").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] - 1, box["y"] + box["height"] / 2)  # scrub: the end of the timeline
    expect(current).to_contain_text("run_finished  failed at check")
    expect(node(page, "check")).to_have_attribute("data-status", "failed")
    expect(node(page, "check").get_by_test_id("error")).to_contain_text("201 is over the limit 100")
    expect(node(page, "out")).to_have_attribute("data-status", "cancelled")
    page.get_by_test_id("to-start").click()
    expect(current).to_contain_text("before the first event")
    expect(page.locator(".gf-node[data-status]")).to_have_count(0)
    page.get_by_test_id("to-end").click()
    expect(node(page, "count")).to_have_attribute("data-status", "succeeded")
    page.locator(".gf-log-line[data-index='2']").click()  # a line of the event log moves the cursor there
    expect(current).to_contain_text("#2  ")
    expect(node(page, "check")).not_to_have_attribute("data-status", "failed")
    assert served.calls_made() == []


@pytest.mark.browser
def test_stats_table_and_heat_overlay(page: Page, served: Served):
    page.goto(f"{served.url}/graph/{GRAPH_ID}/stats")
    canvas_ready(page, 4)
    expect(page.get_by_test_id("graph-stats")).to_contain_text("3 runs")
    expect(page.locator("[data-testid=node-stats] tbody tr")).to_have_count(4)
    expect(page.locator(".gf-node [data-testid=heat]")).to_have_count(4)
    expect(page.locator("[data-breaker='hist-api']")).to_have_attribute("data-state", "closed")


@pytest.mark.browser
def test_resume_from_here_starts_a_new_run_and_follows_it(page: Page, served: Served):
    page.goto(f"{served.url}/run/{served.runs['failed']}")
    canvas_ready(page, 4)
    page.get_by_test_id("resume").click()
    expect(page.get_by_text("These nodes changed and run again, with what depends on them: check.")).to_be_visible()
    page.get_by_role("button", name="Resume").last.click()
    page.wait_for_url(re.compile(rf"/graph/{GRAPH_ID}\?run=\w+$"))  # the editor, following the new run
    new_run = page.url.rsplit("=", 1)[1]
    deadline = time.monotonic() + 10
    while served.calls_made() != ["check"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert served.calls_made() == ["check"]  # count's output came from the failed run
    page.goto(f"{served.url}/run/{new_run}")
    expect(page.get_by_test_id("run-summary")).to_have_attribute("data-status", "succeeded")
    expect(page.get_by_test_id("version-notice")).to_have_count(0)
