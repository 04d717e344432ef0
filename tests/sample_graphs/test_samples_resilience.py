"""The map-reduce and failure-handling samples, run as shipped: ``email_triage`` (100
generated emails, per-item retries, a reduced summary) and ``resilience_demo`` (retries,
a circuit breaker shared by runs, an error-port fallback, an optional node that degrades).

Outputs are checked against values computed here from the generator's own labels, and
the events are checked too: map progress, retries, breaker transitions, degradation."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import anyio
import pytest

import graphflow
import graphflow.sample_graphs
from graphflow import GraphSpec, GraphValidationError, RunResult, default_registry, load_graph, validate_graph
from graphflow.clock import FakeClock
from graphflow.registry import Registry
from graphflow.resilience import BreakerRegistry
from graphflow.runner import Runner
from graphflow.sample_graphs import resilient, triage

SAMPLES_DIR = Path(graphflow.sample_graphs.__file__).parent
SAMPLES = {"email_triage": "triage", "resilience_demo": "resilient"}
"""Sample graph -> the handler module its functions come from."""


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def sample(name: str) -> GraphSpec:
    return load_graph(SAMPLES_DIR / f"{name}.json")


def events(result: RunResult, kind: str, node_id: str | None = None) -> list[Any]:
    return [e for e in result.events if e.kind == kind and (node_id is None or getattr(e, "node_id", None) == node_id)]


def node_output(result: RunResult, node_id: str) -> Any:
    (event,) = events(result, "node_succeeded", node_id)
    return event.output["out"]


def named_functions(spec: GraphSpec) -> set[str]:
    names = set()
    for node in spec.nodes:
        if node.kind in ("function", "map"):
            names |= {node.config[key] for key in ("function", "reduce") if node.config.get(key)}
    return names


# -- both samples ---------------------------------------------------------------------


@pytest.mark.parametrize("name", SAMPLES)
def test_sample_loads_validates_and_round_trips(name: str) -> None:
    spec = sample(name)
    assert spec.id == name
    assert spec.name and spec.description
    assert all(node.label for node in spec.nodes)
    assert load_graph(spec.model_dump_json()) == spec
    assert load_graph(spec.to_json()) == spec
    compiled = validate_graph(spec, default_registry())
    assert set(compiled.order) == {node.id for node in spec.nodes}


@pytest.mark.parametrize("name", SAMPLES)
def test_sample_is_laid_out_left_to_right(name: str) -> None:
    spec = sample(name)
    positions = {node.id: (node.position.x, node.position.y) for node in spec.nodes}
    assert len(set(positions.values())) == len(positions), "two nodes share a canvas position"
    for edge in spec.edges:
        assert positions[edge.target][0] > positions[edge.source][0], edge.id


@pytest.mark.parametrize("name", SAMPLES)
def test_sample_functions_come_from_the_installed_entry_point(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GRAPHFLOW_PLUGINS", raising=False)
    spec = sample(name)
    functions = named_functions(spec)
    assert functions and all(f.startswith(f"samples.{SAMPLES[name]}.") for f in functions)
    registry = default_registry()
    assert "graphflow.sample_graphs" in registry.plugins
    assert functions <= set(registry.functions)
    with pytest.raises(GraphValidationError) as info:
        validate_graph(spec, default_registry(installed=False))
    assert set(info.value.codes) == {"unknown_function"}


# -- 1. email triage: the generator and the rules ---------------------------------------


def test_generator_is_deterministic_and_covers_every_template_kind() -> None:
    first, again = triage.generate(100), triage.generate(100)
    assert first == again
    assert triage.generate(100, seed=1) != first
    assert triage.load_emails(100) == [g.email for g in first]
    assert triage.load_emails() == triage.load_emails(100)
    assert triage.load_emails(30) == triage.load_emails(100)[:30]  # a prefix of the same mailbox
    ids = [g.email["id"] for g in first]
    assert ids == [f"EM-{n:04d}" for n in range(1, 101)]
    assert {g.intent for g in first} == {"outage", "refund", "bug", "billing", "praise"}
    urgent = sum(g.urgent for g in first)
    assert 5 <= urgent <= 40  # some, not all
    assert not any(g.urgent for g in first if g.intent == "praise")
    received = [g.email["received_at"] for g in first]
    assert received == sorted(received) and len(set(received)) == 100
    for g in first:
        assert set(g.email) == {"id", "from", "name", "subject", "body", "received_at"}
        assert "@" in g.email["from"] and "{" not in g.email["subject"] + g.email["body"]
    assert [g.email["id"] for g in first if triage.is_flaky(g.email["id"])] == [
        "EM-0007", "EM-0027", "EM-0047", "EM-0067", "EM-0087"]  # 5% of 100


@pytest.mark.parametrize("count", [-1, triage.MAX_COUNT + 1, 2.5, True])
def test_generator_rejects_a_bad_count(count: Any) -> None:
    with pytest.raises(ValueError, match="count must be an integer"):
        triage.generate(count)


@pytest.mark.parametrize("seed", range(20))
def test_keyword_rules_recover_the_generator_labels(seed: int) -> None:
    """The rules were written with the templates in mind: over many mailboxes, the intent
    and urgency they find are exactly what each email was generated as."""
    for g in triage.generate(200, seed):
        text = triage.email_text(g.email)
        assert triage.intent_of(text) == g.intent, g.email
        assert triage.urgency_of(text) == ("high" if g.urgent else "normal"), g.email


@pytest.mark.parametrize(
    ("text", "intent", "urgency", "sentiment"),
    [
        ("The site is down and I want a refund", "outage", "normal", -1.0),
        ("Please refund my order, I was charged twice", "refund", "normal", 0.0),
        ("The app crashes, please fix it ASAP", "bug", "high", -1.0),
        ("Where is my invoice? This is urgent.", "billing", "high", 0.0),
        ("Thanks, I love it, but the export is broken", "bug", "normal", 0.333),
        ("I love the new dark mode, great job", "praise", "normal", 1.0),
        ("I am not happy, this is a terrible experience", "other", "normal", -1.0),
        ("Do you ship to Canada?", "other", "normal", 0.0),
        ("We need this fixed as soon as possible", "other", "high", 0.0),
    ],
)
def test_intent_urgency_and_sentiment_rules(text: str, intent: str, urgency: str, sentiment: float) -> None:
    assert triage.intent_of(text) == intent
    assert triage.urgency_of(text) == urgency
    assert triage.sentiment_score(text) == sentiment
    assert -1.0 <= triage.sentiment_score(text) <= 1.0


# -- 1. email triage: the graph -------------------------------------------------------------


def counting_registry(calls: Counter[str]) -> Registry:
    """The installed registry, with the map function counting calls per email id."""
    registry = default_registry()
    original = registry.functions["samples.triage.classify_email"].fn

    async def counted(email: dict[str, Any], ctx: Any) -> dict[str, Any]:
        calls[email["id"]] += 1
        return await original(email, ctx)

    registry.register_function("samples.triage.classify_email", counted, replace=True)
    return registry


def expected_summary(count: int) -> dict[str, Any]:
    """The summary computed straight from the generator's labels, not through the graph."""
    mailbox = triage.generate(count, seed=sample("email_triage").node("load").config["args"]["seed"])
    intents = Counter(g.intent for g in mailbox)
    sentiments = [triage.sentiment_score(f"{g.email['subject']}\n{g.email['body']}") for g in mailbox]
    urgent_ids = [g.email["id"] for g in mailbox if g.urgent]
    return {
        "total": count,
        "by_intent": {intent: intents.get(intent, 0) for intent in triage.INTENTS},
        "average_sentiment": round(sum(sentiments) / count, 3),
        "urgent": len(urgent_ids),
        "urgent_ids": urgent_ids,
    }


def test_triage_summary_of_100_emails() -> None:
    calls: Counter[str] = Counter()
    result = graphflow.run_sync(SAMPLES_DIR / "email_triage.json", {}, registry=counting_registry(calls))

    assert result.status == "succeeded", result.error
    summary = result.outputs["summary"]
    assert summary == expected_summary(100)
    assert summary["total"] == 100 and sum(summary["by_intent"].values()) == 100
    assert summary["by_intent"]["other"] == 0
    assert all(summary["by_intent"][i] > 0 for i in ("outage", "refund", "bug", "billing", "praise"))
    assert summary["urgent"] == len(summary["urgent_ids"]) > 0
    assert -1.0 <= summary["average_sentiment"] <= 1.0
    # The transient failures were retried per email, so nothing is left in the errors list.
    assert result.outputs["errors"] == []
    flaky = {f"EM-{n:04d}" for n in (7, 27, 47, 67, 87)}
    assert {i for i, n in calls.items() if n == 2} == flaky
    assert {i for i, n in calls.items() if n == 1} == {f"EM-{n:04d}" for n in range(1, 101)} - flaky
    assert sum(calls.values()) == 105
    # Events: the map node reports aggregated progress ending at 100 done, 0 failed.
    progress = [(e.done, e.failed, e.total) for e in events(result, "map_progress", "classify")]
    assert progress[0] == (0, 0, 100)
    assert progress[-1] == (100, 0, 100)
    assert all(total == 100 and failed == 0 for _, failed, total in progress)
    assert [done for done, _, _ in progress] == sorted(done for done, _, _ in progress)
    assert not events(result, "node_failed") and not events(result, "node_retrying")
    (classified,) = events(result, "node_succeeded", "classify")
    assert classified.output == {"out": summary, "errors": []}
    assert len(node_output(result, "load")) == 100
    assert set(result.node_states.values()) == {"succeeded"}
    assert not [k for k in triage._failed_once if k[0] == result.run_id]  # the reduce step forgot this run


def test_triage_runs_are_repeatable() -> None:
    """Failure state is kept per run: a second run retries the same emails and gets the same summary."""
    first_calls: Counter[str] = Counter()
    second_calls: Counter[str] = Counter()
    first = graphflow.run_sync(SAMPLES_DIR / "email_triage.json", {}, registry=counting_registry(first_calls))
    second = graphflow.run_sync(SAMPLES_DIR / "email_triage.json", {}, registry=counting_registry(second_calls))
    assert first.run_id != second.run_id
    assert first.outputs == second.outputs
    assert first_calls == second_calls and sum(second_calls.values()) == 105


def test_triage_count_input() -> None:
    result = graphflow.run_sync(SAMPLES_DIR / "email_triage.json", {"count": 40}, registry=default_registry())
    assert result.status == "succeeded", result.error
    assert result.outputs == {"summary": expected_summary(40), "errors": []}
    assert events(result, "map_progress", "classify")[-1].model_dump(include={"done", "failed", "total"}) == {
        "done": 40, "failed": 0, "total": 40}


@pytest.mark.anyio
async def test_triage_without_item_retry_collects_the_transient_failures() -> None:
    """The same graph without ``item_retry``: the five flaky emails end in the errors list
    and the summary covers the other 95 (collect mode keeps going)."""
    data = json.loads((SAMPLES_DIR / "email_triage.json").read_text())
    classify = next(n for n in data["nodes"] if n["id"] == "classify")
    del classify["config"]["item_retry"]
    clock = FakeClock()
    compiled = validate_graph(data, default_registry())
    async with anyio.create_task_group() as tg:
        tg.start_soon(clock.autojump)
        result = await Runner(compiled, clock=clock, progress_interval=0).run({})
        tg.cancel_scope.cancel()

    assert result.status == "succeeded", result.error
    errors = result.outputs["errors"]
    assert [e["index"] for e in errors] == [6, 26, 46, 66, 86]
    assert {e["error_type"] for e in errors} == {"ConnectionError"}
    assert errors[0]["message"] == "classifier connection reset while reading EM-0007"
    summary = result.outputs["summary"]
    assert summary["total"] == 95 == sum(summary["by_intent"].values())
    progress = [(e.done, e.failed, e.total) for e in events(result, "map_progress", "classify")]
    assert len(progress) == 101  # progress_interval=0: one event per item, plus the first
    assert progress[-1] == (95, 5, 100)


# -- 2. resilience demo ----------------------------------------------------------------------

QUERY = "When will my order arrive?"
HEALTHY_QUERY = "healthy check: when will my order arrive?"


class Story:
    """One compiled demo, a fake clock and a breaker registry shared by its runs, and a
    count of the calls that reached the primary service."""

    def __init__(self) -> None:
        self.clock = FakeClock()
        self.breakers = BreakerRegistry(self.clock)
        self.primary_calls = 0
        registry = default_registry()
        original = registry.functions["samples.resilient.fetch_primary"].fn

        async def counted(query: str) -> dict[str, Any]:
            self.primary_calls += 1
            return await original(query)

        registry.register_function("samples.resilient.fetch_primary", counted, replace=True)
        self.compiled = validate_graph(SAMPLES_DIR / "resilience_demo.json", registry)

    async def run(self, query: str) -> RunResult:
        async with anyio.create_task_group() as tg:
            tg.start_soon(self.clock.autojump)
            runner = Runner(self.compiled, clock=self.clock, breakers=self.breakers, rng=random.Random(3))
            result = await runner.run({"query": query})
            tg.cancel_scope.cancel()
        return result


def backup_answer(query: str, reason: str) -> dict[str, Any]:
    return {"source": "backup", "query": query, "topic": "shipping", "answer": resilient.BACKUP_ANSWERS["shipping"],
            "as_of": resilient.BACKUP_AS_OF, "stale": True, "fallback_reason": reason,
            "enrichment": {"sentiment": "unknown"}}


def breaker_changes(result: RunResult) -> list[tuple[str, str, str, str | None]]:
    return [(e.breaker, e.from_state, e.to_state, e.node_id) for e in events(result, "breaker_changed")]


def assert_enrich_degraded(result: RunResult) -> None:
    assert result.degraded == ["enrich"]
    (enriched,) = events(result, "node_succeeded", "enrich")
    assert enriched.degraded is True
    assert enriched.error == "TimeoutError: enrichment service timed out"
    assert enriched.output == {"out": {"sentiment": "unknown"}}
    assert not events(result, "node_failed", "enrich")
    (finished,) = events(result, "run_finished")
    assert finished.degraded == ["enrich"]


@pytest.mark.anyio
async def test_resilience_retries_then_breaker_opens_then_recovers() -> None:
    story = Story()

    # Run 1: primary fails three times (two retries), the third failure opens the breaker,
    # the error port hands over to the backup, and enrichment degrades.
    first = await story.run(QUERY)
    assert first.status == "succeeded", first.error
    assert first.outputs == {"answer": backup_answer(QUERY, "ConnectionError: primary source unavailable")}
    assert story.primary_calls == 3
    retries = events(first, "node_retrying", "primary")
    assert [r.attempt for r in retries] == [1, 2]
    assert {(r.error_type, r.error_message) for r in retries} == {("ConnectionError", "primary source unavailable")}
    assert 0 <= retries[0].delay <= 0.01 and 0 <= retries[1].delay <= 0.02
    assert breaker_changes(first) == [("primary-api", "closed", "open", "primary")]
    assert events(first, "breaker_changed")[0].reason == "3 consecutive failures"
    primary_story = [(e.kind, getattr(e, "attempt", None)) for e in first.events
                     if getattr(e, "node_id", None) == "primary"]
    assert primary_story == [("node_started", 1), ("node_retrying", 1), ("node_started", 2), ("node_retrying", 2),
                             ("node_started", 3), ("breaker_changed", None), ("node_failed", 3)]
    (failed,) = events(first, "node_failed")
    assert (failed.node_id, failed.error_type, failed.handled) == ("primary", "ConnectionError", True)
    assert node_output(first, "fallback")["source"] == "backup"
    assert first.node_states["primary"] == "failed"
    assert all(state == "succeeded" for node, state in first.node_states.items() if node != "primary")
    assert_enrich_degraded(first)
    assert story.breakers.states() == {"primary-api": "open"}

    # Run 2, same breakers: the open breaker refuses the call at once. No retries, the
    # service is not called, and the backup still answers.
    second = await story.run(QUERY)
    assert second.status == "succeeded", second.error
    assert story.primary_calls == 3
    assert not events(second, "node_retrying")
    assert breaker_changes(second) == []
    (refused,) = events(second, "node_failed", "primary")
    assert (refused.error_type, refused.attempt, refused.handled) == ("BreakerOpen", 1, True)
    assert refused.error_message.startswith("circuit breaker 'primary-api' is open; retry after")
    answer = second.outputs["answer"]
    assert answer == backup_answer(QUERY, answer["fallback_reason"])
    assert answer["fallback_reason"] == f"BreakerOpen: {refused.error_message}"
    assert_enrich_degraded(second)

    # Past the reset timeout, a question the primary can answer is let through as a probe:
    # open -> half_open -> closed, and the answer comes from the primary again.
    story.clock.advance(31)
    third = await story.run(HEALTHY_QUERY)
    assert third.status == "succeeded", third.error
    assert [(f, t) for _, f, t, _ in breaker_changes(third)] == [("open", "half_open"), ("half_open", "closed")]
    assert [e.reason for e in events(third, "breaker_changed")] == ["reset timeout", "probe succeeded"]
    assert third.outputs["answer"] == {
        "source": "primary", "query": HEALTHY_QUERY, "topic": "shipping",
        "answer": resilient.PRIMARY_ANSWERS["shipping"], "as_of": "live", "enrichment": {"sentiment": "unknown"},
    }
    assert story.primary_calls == 4
    assert not events(third, "node_retrying") and not events(third, "node_failed")
    assert third.node_states["backup"] == "skipped"
    assert node_output(third, "fallback")["source"] == "primary"
    assert_enrich_degraded(third)
    assert story.breakers.states() == {"primary-api": "closed"}

    # Closed again: a failing question is retried from scratch.
    fourth = await story.run(QUERY)
    assert [r.attempt for r in events(fourth, "node_retrying", "primary")] == [1, 2]
    assert fourth.outputs == first.outputs


@pytest.mark.anyio
async def test_resilience_failed_probe_reopens_the_breaker() -> None:
    story = Story()
    await story.run(QUERY)
    story.clock.advance(31)
    calls_before = story.primary_calls

    probe = await story.run(QUERY)  # the service is still down for this question

    assert probe.status == "succeeded", probe.error
    assert story.primary_calls == calls_before + 1  # only the probe reached the service
    assert [(f, t) for _, f, t, _ in breaker_changes(probe)] == [("open", "half_open"), ("half_open", "open")]
    assert events(probe, "breaker_changed")[-1].reason == "probe failed"
    # The probe's ConnectionError is retryable, but the retry meets the reopened breaker.
    assert [(r.attempt, r.error_type) for r in events(probe, "node_retrying", "primary")] == [(1, "ConnectionError")]
    (failed,) = events(probe, "node_failed", "primary")
    assert (failed.error_type, failed.attempt) == ("BreakerOpen", 2)
    assert probe.outputs["answer"]["source"] == "backup"
    assert story.breakers.states() == {"primary-api": "open"}


@pytest.mark.anyio
async def test_resilience_healthy_primary_never_touches_the_backup() -> None:
    story = Story()
    result = await story.run(HEALTHY_QUERY)
    assert result.status == "succeeded", result.error
    assert result.outputs["answer"]["source"] == "primary"
    assert story.primary_calls == 1
    assert result.node_states["backup"] == "skipped"
    assert not events(result, "node_started", "backup")
    assert not events(result, "node_retrying") and not events(result, "breaker_changed")
    assert_enrich_degraded(result)
    assert story.breakers.states() == {"primary-api": "closed"}


@pytest.mark.anyio
async def test_resilience_fails_when_the_backup_has_no_answer_either() -> None:
    story = Story()
    query = "What does the Team plan cost?"  # pricing: not in the backup snapshot
    result = await story.run(query)

    assert result.status == "failed"
    assert result.failed_node == "fallback"
    assert result.error == "AllBranchesFailed: backup: NoCachedAnswer: the backup snapshot has no answer for 'pricing'"
    assert result.outputs == {}
    assert [(e.node_id, e.error_type, e.handled) for e in events(result, "node_failed")] == [
        ("primary", "ConnectionError", True), ("backup", "NoCachedAnswer", True),
        ("fallback", "AllBranchesFailed", False)]
    # The primary itself answers pricing questions when it is up.
    healthy = await Story().run(f"healthy: {query}")
    assert healthy.outputs["answer"]["answer"] == resilient.PRIMARY_ANSWERS["pricing"]


# -- both samples from the command line ----------------------------------------------------------


def graphflow_command() -> list[str]:
    script = Path(sys.executable).with_name("graphflow")
    return [str(script)] if script.exists() else [sys.executable, "-m", "graphflow"]


@pytest.mark.slow
def test_cli_runs_the_resilience_demo(tmp_path: Path) -> None:
    """Real clock, real sleeps (the demo's backoff is a few milliseconds)."""
    log = tmp_path / "events.jsonl"
    done = subprocess.run(
        [*graphflow_command(), "run", str(SAMPLES_DIR / "resilience_demo.json"), "--input", f"query={QUERY}",
         "--events-jsonl", str(log), "--progress", "lines"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"answer": backup_answer(QUERY, "ConnectionError: primary source unavailable")}
    assert "succeeded" in done.stderr
    logged = [json.loads(line) for line in log.read_text().splitlines()]
    assert [e["attempt"] for e in logged if e["kind"] == "node_retrying"] == [1, 2]
    assert [(e["from_state"], e["to_state"]) for e in logged if e["kind"] == "breaker_changed"] == [("closed", "open")]
    assert logged[-1]["kind"] == "run_finished" and logged[-1]["degraded"] == ["enrich"]


@pytest.mark.slow
def test_cli_runs_the_email_triage(tmp_path: Path) -> None:
    done = subprocess.run(
        [*graphflow_command(), "run", str(SAMPLES_DIR / "email_triage.json"), "--input", "count=60", "--quiet"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"summary": expected_summary(60), "errors": []}
