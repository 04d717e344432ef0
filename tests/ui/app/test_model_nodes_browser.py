"""Model nodes on the canvas: a reply streams onto its node card while it arrives, then the card keeps
the final text and shows the tokens and cost (the model is the local OpenAI-compatible test server);
a router wired to a classifier's label gets a route per label."""

from __future__ import annotations

import json
import threading

import pytest
from app_support import start_server, stop_server
from llm_server import Reply
from playwright.sync_api import Page, expect
from test_app_browser import connect, handle, open_editor, save

pytestmark = pytest.mark.browser

GRAPH = {"schema_version": 1, "id": "ask", "name": "Ask", "nodes": [
    {"id": "question", "kind": "input", "config": {"name": "question", "type": "string"}},
    {"id": "ask", "kind": "llm", "config": {"prompt": "{question}"}, "position": {"x": 260, "y": 0}},
    {"id": "answer", "kind": "output", "config": {"name": "answer"}, "position": {"x": 560, "y": 0}}],
    "edges": [{"id": "e1", "source": "question", "target": "ask", "target_port": "question"},
              {"id": "e2", "source": "ask", "source_port": "text", "target": "answer"}]}


@pytest.fixture
def model_server(llm_server, monkeypatch, tmp_path):
    providers = tmp_path / "providers.json"
    default = {"base_url": llm_server.url, "secret": None, "default_model": "local",
               "prices": {"local": {"input": 100, "output": 200}}}
    providers.write_text(json.dumps({"providers": {"default": default}}))
    monkeypatch.setenv("GRAPHFLOW_PROVIDERS", str(providers))
    served = start_server(tmp_path)
    save(served.db, GRAPH)
    yield served
    stop_server(served)


def test_the_reply_streams_onto_the_card_then_stays_with_its_usage(page: Page, model_server, llm_server):
    release = threading.Event()
    llm_server.push(Reply("Rayleigh scattering makes the sky blue.",
                          chunks=["Rayleigh scattering", " makes the sky blue."], hold=release))
    try:
        open_editor(page, model_server.url + "/graph/ask")
        page.get_by_test_id("run").click()
        page.get_by_test_id("input-question").fill("Why is the sky blue?")
        page.get_by_test_id("start-run").click()
        card = page.locator('[data-node-id="ask"]')
        expect(card).to_have_attribute("data-status", "running")
        expect(card.get_by_test_id("node-text")).to_have_text("Rayleigh scattering")  # the first chunk, live
    finally:
        release.set()
    expect(card).to_have_attribute("data-status", "succeeded")
    expect(card.get_by_test_id("node-text")).to_have_text("Rayleigh scattering makes the sky blue.")
    expect(card.get_by_test_id("usage")).to_contain_text("tok · $")
    expect(page.get_by_test_id("run-outputs")).to_contain_text("Rayleigh scattering makes the sky blue.")


def test_wiring_a_classifier_label_into_a_router_makes_a_port_per_label(page: Page, served):
    save(served.db, {"schema_version": 1, "id": "routes", "name": "Routes", "nodes": [
        {"id": "cls", "kind": "classify", "config": {"labels": ["refund", "order status", "other"]}},
        {"id": "route", "kind": "router", "config": {"routes": [{"port": "a", "when": "True"}]},
         "position": {"x": 320, "y": 0}}], "edges": []})
    open_editor(page, served.url + "/graph/routes")
    connect(page, "cls", "route", "label", "in")
    for port in ("refund", "order_status", "other"):
        expect(handle(page, "route", port, "out")).to_have_count(1)
    expect(handle(page, "route", "a", "out")).to_have_count(0)
