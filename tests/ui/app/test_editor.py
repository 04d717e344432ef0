"""The editor page with NiceGUI's simulated user: the canvas' events are triggered as the
browser would send them; the settings form, validation, save and a live run are checked."""

from __future__ import annotations

import copy
import json

import pytest
from nicegui import ui

from graphflow.ui.canvas import GraphCanvas

pytestmark = pytest.mark.anyio


def canvas(user) -> GraphCanvas:
    return next(iter(user.find(GraphCanvas).elements))


def widget(user, marker: str) -> ui.element:
    return next(iter(user.find(marker=marker).elements))


def select(user, node_id: str | None) -> None:
    user.find(GraphCanvas).trigger("select", {"node_id": node_id, "node_ids": [node_id] if node_id else []})


def edit(user, graph: dict, reason: str = "edit") -> None:
    user.find(GraphCanvas).trigger("graphChange", {"graph": graph, "reason": reason})


async def test_opens_the_latest_version_valid(user):
    await user.open("/graph/resilience_demo")
    await user.should_see("version 1")
    await user.should_see("No problems: the graph is valid.")
    assert len(canvas(user).graph["nodes"]) == 8
    await user.should_see("Select a node to edit its settings.")


async def test_an_unknown_graph_says_so(user):
    await user.open("/graph/nope")
    await user.should_see("There is no saved graph 'nope'.")


async def test_settings_form_changes_the_node_and_save_stores_a_new_version(user, ctx):
    await user.open("/graph/resilience_demo")
    select(user, "primary")
    await user.should_see(marker="cfg-function")
    assert widget(user, "cfg-function").value == "samples.resilient.fetch_primary"
    assert widget(user, "retry-max_attempts").value == 3
    assert widget(user, "breaker-name").value == "primary-api"
    user.find(marker="opt-label").clear().type("Primary API")
    user.find(marker="retry-max_attempts").clear().type("5")
    user.find(marker="opt-timeout").type("2.5")
    user.find(marker="apply-settings").click()
    await user.should_see("version 1 · unsaved changes")
    node = next(n for n in canvas(user).graph["nodes"] if n["id"] == "primary")
    assert (node["label"], node["retry"]["max_attempts"], node["timeout"]) == ("Primary API", 5, 2.5)
    assert node["retry"]["retry_on"] == ["ConnectionError"] and node["breaker"]["name"] == "primary-api"
    user.find(marker="save").click()
    await user.should_see("saved version 2")
    stored = await ctx.workspace.store.get_graph("resilience_demo")
    primary = stored.spec.node("primary")
    assert (stored.version, primary.label, primary.retry.max_attempts, primary.timeout) == (2, "Primary API", 5, 2.5)
    await user.should_see("version 2")


async def test_policy_defaults_and_help_come_from_the_models(user):
    """The form showed max_attempts 3 for a node without retry; the policy's default is 1."""
    from graphflow.policies import BreakerPolicy, RetryPolicy

    await user.open("/graph/resilience_demo")
    select(user, "combine")  # a join: no retry, breaker or cache of its own
    await user.should_see(marker="section-retry")
    assert widget(user, "retry-max_attempts").value == RetryPolicy().max_attempts == 1
    assert widget(user, "retry-base_delay").value == RetryPolicy().base_delay
    assert widget(user, "breaker-failure_threshold").value == BreakerPolicy(name="x").failure_threshold
    await user.should_see("Attempts in total, the first one included: 1 means no retry.")
    assert not widget(user, "opt-retry").value and not widget(user, "opt-cache").value


async def test_inputs_and_outputs_have_no_retry_breaker_or_cache(user):
    await user.open("/graph/resilience_demo")
    node_id = next(n["id"] for n in canvas(user).graph["nodes"] if n["kind"] == "input")
    select(user, node_id)
    await user.should_see(marker="cfg-name")
    for section in ("retry", "breaker", "cache"):
        await user.should_not_see(marker=f"section-{section}")
    await user.should_see(marker="opt-timeout")


async def test_a_config_field_from_the_kind_schema(user, ctx):
    await user.open("/graph/resilience_demo")
    graph = copy.deepcopy(canvas(user).graph)
    graph["nodes"].append({"id": "pause", "kind": "delay", "config": {"seconds": 1.0}})  # as dropped from the palette
    graph["edges"] = [e for e in graph["edges"] if e["id"] != "combine-answer"] + [
        {"id": "e1", "source": "combine", "target": "pause"}, {"id": "e2", "source": "pause", "target": "answer"}]
    edit(user, graph, "connect")
    select(user, "pause")
    await user.should_see(marker="cfg-seconds")
    user.find(marker="cfg-seconds").clear().type("0.25")
    user.find(marker="apply-settings").click()
    user.find(marker="save").click()
    await user.should_see("saved version 2")
    stored = await ctx.workspace.store.get_graph("resilience_demo")
    assert stored.spec.node("pause").config == {"seconds": 0.25}


async def test_bad_json_in_a_field_is_refused_in_the_form(user):
    await user.open("/graph/parallel_enrichment")
    node_id = next(n["id"] for n in canvas(user).graph["nodes"] if n["kind"] == "function")
    select(user, node_id)
    await user.should_see(marker="cfg-args")
    before = copy.deepcopy(canvas(user).graph)
    user.find(marker="cfg-args").clear().type("{oops")
    user.find(marker="apply-settings").click()
    await user.should_see("args: not JSON")
    assert canvas(user).graph == before


async def test_problems_are_shown_and_an_invalid_graph_is_not_saved(user, ctx):
    await user.open("/graph/resilience_demo")
    graph = copy.deepcopy(canvas(user).graph)
    graph["edges"].append({"id": "bad", "source": "combine", "source_port": "nope", "target": "answer"})
    graph["nodes"].append({"id": "loose", "kind": "output", "config": {}})
    edit(user, graph, "connect")
    await user.should_see("[unknown_port]")
    await user.should_see("[invalid_config] node 'loose'")
    user.find(marker="save").click()
    await user.should_see("kept as a draft, not saved as a version: 3 problems (see Problems)")
    assert (await ctx.workspace.store.get_graph("resilience_demo")).version == 1


async def test_ctrl_s_in_the_canvas_saves(user, ctx):
    await user.open("/graph/sequential_chain")
    graph = copy.deepcopy(canvas(user).graph)
    graph["nodes"][0]["position"] = {"x": 123.0, "y": 45.0}
    user.find(GraphCanvas).trigger("save", {"graph": graph})
    await user.should_see("saved version 2")
    stored = await ctx.workspace.store.get_graph("sequential_chain")
    assert stored.spec.nodes[0].position.x == 123.0


async def test_run_from_the_editor_is_followed_from_its_events(user, ctx):
    await user.open("/graph/resilience_demo")
    user.find(marker="run").click()
    await user.should_see(marker="input-query")
    user.find(marker="input-query").clear().type("refund window")
    user.find(marker="start-run").click()
    await user.should_see("succeeded", marker="run-status", retries=50)
    await user.should_see("breaker_changed  primary-api: closed -> open (3 consecutive failures)")
    await user.should_see("node_retrying  primary (attempt 1): ConnectionError: primary source unavailable")
    await user.should_see('"source": "backup"')
    runs = await ctx.workspace.runs("resilience_demo")
    assert [r.status for r in runs] == ["succeeded"]


async def test_the_run_form_is_prefilled_with_the_example_or_the_default(user, ctx):
    await user.open("/graph/parallel_enrichment")
    user.find(marker="run").click()
    await user.should_see(marker="input-customer_id")
    assert widget(user, "input-customer_id").value == "C002"  # the example (no default)
    user.find(marker="start-run").click()
    await user.should_see("succeeded", marker="run-status", retries=50)
    await user.should_see('"partial_failure": true')
    runs = await ctx.workspace.runs("parallel_enrichment")
    assert [(r.status, r.inputs) for r in runs] == [("succeeded", {"customer_id": "C002"})]


async def test_the_run_form_shows_a_json_example_and_prefers_the_default(user):
    await user.open("/graph/decision_tree")
    user.find(marker="run").click()
    await user.should_see(marker="input-inquiry")
    example = canvas(user).graph["nodes"][0]["config"]["example"]
    assert json.loads(widget(user, "input-inquiry").value) == example and example["order_id"] == "A-100"

    await user.open("/graph/email_triage")
    user.find(marker="run").click()
    await user.should_see(marker="input-count")
    assert widget(user, "input-count").value == 100  # the default (it wins over the example)


async def test_the_run_form_refuses_a_wrong_type_and_a_blank_required_input(user, ctx):
    await user.open("/graph/decision_tree")
    user.find(marker="run").click()
    await user.should_see(marker="input-inquiry")
    user.find(marker="input-inquiry").clear().type('"just a string"')  # valid JSON, not an object
    user.find(marker="start-run").click()
    await user.should_see("input 'inquiry' must be object, got str")

    await user.open("/graph/sequential_chain")
    user.find(marker="run").click()
    await user.should_see(marker="input-message")
    user.find(marker="input-message").clear()
    user.find(marker="start-run").click()
    await user.should_see("message: required")
    assert await ctx.workspace.runs("decision_tree") == [] and await ctx.workspace.runs("sequential_chain") == []


async def test_a_function_node_offers_the_registered_functions(user, ctx):
    await user.open("/graph/resilience_demo")
    select(user, "primary")
    await user.should_see(marker="cfg-function")
    field = widget(user, "cfg-function")
    assert isinstance(field, ui.select)
    assert "samples.resilient.fetch_backup" in field.options and field.value == "samples.resilient.fetch_primary"


async def test_after_a_run_a_selected_node_shows_its_whole_error(user):
    await user.open("/graph/resilience_demo")
    user.find(marker="run").click()
    await user.should_see(marker="input-query")
    user.find(marker="start-run").click()
    await user.should_see("succeeded", marker="run-status", retries=50)
    select(user, "enrich")
    await user.should_see("degraded: TimeoutError: enrichment service timed out", marker="node-error")


async def test_a_run_that_cannot_start_closes_its_log_without_inventing_an_event(ctx):
    live = ctx.runs.start("no-such-graph", {})
    seen = [event async for event in live.log.subscribe()]  # ends when the log closes
    assert seen == [] and live.log.events == [] and live.log.closed
    assert live.error and "no-such-graph" in live.error
