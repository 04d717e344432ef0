"""The three sample graphs, run as shipped: the JSON files of the installed package with
the handlers ``graphflow.default_registry()`` loads through the ``graphflow.plugins``
entry point (what ``graphflow run sample_graphs/X.json`` does)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import graphflow
import graphflow.sample_graphs
from graphflow import GraphSpec, GraphValidationError, RunResult, default_registry, load_graph, run, validate_graph
from graphflow.sample_graphs import chain, enrichment

SAMPLES_DIR = Path(graphflow.sample_graphs.__file__).parent
SAMPLES = ("sequential_chain", "parallel_enrichment", "decision_tree")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def sample(name: str) -> GraphSpec:
    return load_graph(SAMPLES_DIR / f"{name}.json")


def run_sample(name: str, inputs: dict[str, Any]) -> RunResult:
    return graphflow.run_sync(SAMPLES_DIR / f"{name}.json", inputs, registry=default_registry())


def events(result: RunResult, kind: str, node_id: str | None = None) -> list[Any]:
    return [e for e in result.events if e.kind == kind and (node_id is None or e.node_id == node_id)]


def node_output(result: RunResult, node_id: str) -> Any:
    (event,) = events(result, "node_succeeded", node_id)
    return event.output["out"]


# -- every sample ------------------------------------------------------------------


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
    module = {"sequential_chain": "chain", "parallel_enrichment": "enrichment", "decision_tree": "support"}[name]
    functions = {node.config["function"] for node in spec.nodes if node.kind == "function"}
    assert functions and all(f.startswith(f"samples.{module}.") for f in functions)
    registry = default_registry()
    assert "graphflow.sample_graphs" in registry.plugins
    assert functions <= set(registry.functions)
    with pytest.raises(GraphValidationError) as info:
        validate_graph(spec, default_registry(installed=False))
    assert set(info.value.codes) == {"unknown_function"}


# -- 1. sequential chain ---------------------------------------------------------------

CHAIN_STEPS = ["extract", "validate", "check_existing", "create", "notify"]


def test_chain_new_customer_gets_an_account() -> None:
    result = run_sample("sequential_chain", {"message": "Hi! Please sign me up: Dana.Fox@Example.COM. Thanks"})

    assert result.status == "succeeded", result.error
    account_id = chain.account_id_for("dana.fox@example.com")
    assert re.fullmatch(r"acct_[0-9a-f]{12}", account_id)
    assert result.outputs == {
        "account": {
            "email": "dana.fox@example.com",
            "account_id": account_id,
            "sent_to": "dana.fox@example.com",
            "subject": "Welcome aboard, Dana Fox!",
            "body": f"Hi Dana Fox, your account {account_id} is ready.",
        }
    }
    # Each step's data is in its node_succeeded event, in chain order.
    assert node_output(result, "extract")["email"] == "Dana.Fox@Example.COM"
    assert node_output(result, "validate") == {"email": "dana.fox@example.com", "local_part": "dana.fox",
                                               "domain": "example.com"}
    assert node_output(result, "check_existing")["existing"] is False
    assert node_output(result, "create") == {"email": "dana.fox@example.com", "account_id": account_id}
    assert node_output(result, "notify")["sent_to"] == "dana.fox@example.com"
    order = [e.node_id for e in events(result, "node_succeeded") if e.node_id in CHAIN_STEPS]
    assert order == CHAIN_STEPS
    assert set(result.node_states.values()) == {"succeeded"}


def test_chain_account_id_is_deterministic() -> None:
    first = run_sample("sequential_chain", {"message": "new.user@example.com"})
    second = run_sample("sequential_chain", {"message": "Sign up NEW.USER@example.com please"})
    other = run_sample("sequential_chain", {"message": "another.user@example.com"})
    assert first.outputs["account"]["account_id"] == second.outputs["account"]["account_id"]
    assert first.outputs["account"]["account_id"] != other.outputs["account"]["account_id"]


@pytest.mark.parametrize(
    ("message", "failed_step", "error_type", "error_message"),
    [
        ("no email here", "extract", "ValueError", "no email address found"),
        ("meet me @ noon", "extract", "ValueError", "no email address found"),
        ("contact me at bob@@example", "validate", "InvalidEmail",
         "invalid email address 'bob@@example': expected exactly one '@', found 2"),
        ("my address is jane@localhost", "validate", "InvalidEmail",
         "invalid email address 'jane@localhost': the domain has no top-level part (like '.com')"),
        ("write to jo..e@example.com", "validate", "InvalidEmail",
         "invalid email address 'jo..e@example.com': the part before '@' has characters or dots that are not allowed"),
        ("Hi, it's Alice@Example.com again", "check_existing", "AccountExists",
         "an account already exists for alice@example.com (acct_0001)"),
    ],
)
def test_chain_stops_at_the_failing_step(message: str, failed_step: str, error_type: str, error_message: str) -> None:
    result = run_sample("sequential_chain", {"message": message})

    assert result.status == "failed"
    assert result.failed_node == failed_step
    assert result.error == f"{error_type}: {error_message}"
    assert result.outputs == {}
    (failed,) = events(result, "node_failed")
    assert (failed.node_id, failed.error_type, failed.error_message) == (failed_step, error_type, error_message)
    assert failed.handled is False
    at = CHAIN_STEPS.index(failed_step)
    for step in CHAIN_STEPS[:at]:
        assert result.node_states[step] == "succeeded"
        assert events(result, "node_succeeded", step)
    for step in [*CHAIN_STEPS[at + 1:], "account"]:
        assert result.node_states[step] == "cancelled"
        assert events(result, "node_cancelled", step)
        assert not events(result, "node_started", step)
    (finished,) = events(result, "run_finished")
    assert (finished.status, finished.failed_node) == ("failed", failed_step)


# -- 2. parallel enrichment --------------------------------------------------------------

FETCHES = ("crm", "erp", "tickets")


def test_enrichment_full_report() -> None:
    result = run_sample("parallel_enrichment", {"customer_id": "C001"})

    assert result.status == "succeeded", result.error
    report = result.outputs["report"]
    assert report["customer"] == enrichment.CRM["C001"]
    assert [o["order_id"] for o in report["orders"]] == ["SO-1102", "SO-1044", "SO-1001"]  # newest first
    assert [t["ticket_id"] for t in report["tickets"]] == ["T-533", "T-501"]  # open first
    assert report["summary"] == {"order_count": 3, "lifetime_value": 849.5, "open_tickets": 1}
    assert report["partial_failure"] is False
    assert report["errors"] == {}
    assert node_output(result, "join") == {
        "results": {"crm": report["customer"], "erp": report["orders"], "tickets": report["tickets"]},
        "errors": {},
        "partial": False,
    }
    assert set(result.node_states.values()) == {"succeeded"}


@pytest.mark.parametrize(
    ("customer_id", "failing", "error"),
    [
        ("C002", "erp", "ConnectionError: ERP timeout"),
        ("C003", "tickets", "TimeoutError: help desk returned 503 Service Unavailable"),
    ],
)
def test_enrichment_optional_source_down_gives_partial_report(customer_id: str, failing: str, error: str) -> None:
    result = run_sample("parallel_enrichment", {"customer_id": customer_id})

    assert result.status == "succeeded", result.error
    assert result.failed_node is None
    (failed,) = events(result, "node_failed")
    assert failed.node_id == failing
    assert f"{failed.error_type}: {failed.error_message}" == error
    assert failed.handled is True
    assert result.node_states[failing] == "failed"
    assert all(result.node_states[n] == "succeeded" for n in result.node_states if n != failing)

    report = result.outputs["report"]
    assert report["customer"] == enrichment.CRM[customer_id]
    assert report["partial_failure"] is True
    assert report["errors"] == {failing: error}
    missing = "orders" if failing == "erp" else "tickets"
    assert report[missing] == []
    present = "tickets" if failing == "erp" else "orders"
    assert report[present] and report[present] == node_output(result, "tickets" if failing == "erp" else "erp")
    assert node_output(result, "join")["partial"] is True


def test_enrichment_unknown_customer_fails_at_the_join() -> None:
    result = run_sample("parallel_enrichment", {"customer_id": "C999"})

    assert result.status == "failed"
    assert result.failed_node == "join"
    assert result.error == (
        "RequiredBranchFailed: required branch 'crm': CustomerNotFound: customer 'C999' not found in CRM"
    )
    assert result.outputs == {}
    crm_failed, join_failed = events(result, "node_failed")
    assert (crm_failed.node_id, crm_failed.error_type, crm_failed.handled) == ("crm", "CustomerNotFound", True)
    assert (join_failed.node_id, join_failed.error_type, join_failed.handled) == ("join", "RequiredBranchFailed", False)
    assert result.node_states["erp"] == result.node_states["tickets"] == "succeeded"
    assert result.node_states["combine"] == result.node_states["report"] == "cancelled"


@pytest.mark.anyio
async def test_enrichment_fetches_run_concurrently() -> None:
    """All three fetches start before any of them finishes. Each real handler yields to the
    event loop once (its simulated network wait); a wrapper records when it starts and
    ends. Run one after another, a fetch would end before the next one started."""
    registry = default_registry()
    trace: list[str] = []
    names = {"crm": "samples.enrichment.fetch_crm", "erp": "samples.enrichment.fetch_erp_orders",
             "tickets": "samples.enrichment.fetch_tickets"}
    for branch, name in names.items():
        entry = registry.functions[name]
        assert entry.is_async

        def traced(branch: str = branch, original: Any = entry.fn) -> Any:
            async def wrapper(customer_id: str) -> Any:
                trace.append(f"start:{branch}")
                value = await original(customer_id)
                trace.append(f"end:{branch}")
                return value
            return wrapper

        registry.register_function(name, traced(), replace=True)

    result = await run(SAMPLES_DIR / "parallel_enrichment.json", {"customer_id": "C001"}, registry=registry)

    assert result.status == "succeeded", result.error
    assert sorted(trace) == sorted([f"start:{b}" for b in FETCHES] + [f"end:{b}" for b in FETCHES])
    assert set(trace[:3]) == {f"start:{b}" for b in FETCHES}, trace
    # The events agree: every fetch started before any fetch finished.
    fetch_events = [e.kind for e in result.events if getattr(e, "node_id", None) in FETCHES]
    assert fetch_events[:3] == ["node_started"] * 3
    assert fetch_events[3:] == ["node_succeeded"] * 3


# -- 3. decision tree ----------------------------------------------------------------------

ENTRY = {"inquiry", "model", "pair", "classify", "route_intent"}
"""The classifier model (the scripted stand-in of provider ``sample``), its label joined with the
inquiry, the choice between the model's label and the keyword rules, the intent router."""
REFUND = ENTRY | {"lookup_order", "prior_refunds", "refund_policy"}
TECHNICAL = ENTRY | {"search_kb", "kb_found"}

LEAVES: dict[str, tuple[dict[str, Any], set[str], dict[str, Any]]] = {
    # leaf: (inquiry, nodes on the path taken, decision)
    "auto_approve": (
        {"customer_id": "C001", "message": "The headphones broke, I want a refund", "order_id": "A-100"},
        REFUND | {"auto_approve", "decision_auto_approve"},
        {"action": "auto_approve", "order_id": "A-100", "refund_amount": 149.99, "customer_id": "C001"},
    ),
    "escalate_high_value": (
        {"customer_id": "C001", "message": "Please refund my laptop order", "order_id": "A-101"},
        REFUND | {"escalate_high_value", "decision_escalate_high_value"},
        {"action": "escalate", "reason": "High-value order", "order_id": "A-101", "customer_id": "C001",
         "total": 1299.0, "days_since_purchase": 19, "prior_refunds": 0},
    ),
    "escalate_prior_refunds": (
        {"customer_id": "C002", "message": "I would like my money back for the keyboard", "order_id": "A-102"},
        REFUND | {"escalate_prior_refunds", "decision_escalate_prior_refunds"},
        {"action": "escalate", "reason": "Multiple prior refunds", "order_id": "A-102", "customer_id": "C002",
         "total": 89.0, "days_since_purchase": 90, "prior_refunds": 3},
    ),
    "manual_review": (
        {"customer_id": "C003", "message": "Can I get a refund for my mouse?", "order_id": "A-103"},
        REFUND | {"manual_review", "decision_manual_review"},
        {"action": "manual_review", "reason": "Outside 30-day window", "order_id": "A-103", "customer_id": "C003",
         "days_since_purchase": 106},
    ),
    "answer": (
        {"customer_id": "C004", "message": "I can't login, I need a password reset"},
        TECHNICAL | {"answer", "decision_answer"},
        {"action": "answer", "article_id": "KB-001", "title": "Resetting your password",
         "answer": "Use 'Forgot password' on the sign-in page; the reset link is valid for 30 minutes.",
         "customer_id": "C004"},
    ),
    "create_ticket": (
        {"customer_id": "C004", "message": "The export button shows an error on every click"},
        TECHNICAL | {"create_ticket", "decision_ticket"},
        {"action": "create_ticket", "reason": "No knowledge-base article matched", "customer_id": "C004",
         "priority": "normal"},
    ),
    "billing": (
        {"customer_id": "C002", "message": "Why was I charged twice on my last invoice?"},
        ENTRY | {"billing_reply", "decision_billing"},
        {"action": "reply", "team": "billing", "customer_id": "C002", "intent": "billing"},
    ),
    "other": (
        {"customer_id": "C002", "message": "Do you ship to Canada?"},
        ENTRY - {"model"} | {"general_reply", "decision_general"},  # the model is unsure: the rules decide
        {"action": "reply", "team": "general", "customer_id": "C002", "intent": "other"},
    ),
}


@pytest.mark.parametrize("leaf", LEAVES)
def test_decision_tree_leaf(leaf: str) -> None:
    inquiry, path, expected = LEAVES[leaf]
    result = run_sample("decision_tree", {"inquiry": inquiry})

    assert result.status == "succeeded", result.error
    assert list(result.outputs) == ["decision"]
    decision = result.outputs["decision"]
    assert {k: decision[k] for k in expected} == expected
    if leaf == "create_ticket":
        assert re.fullmatch(r"TCK-[0-9A-F]{8}", decision["ticket_id"])
    if leaf in ("billing", "other"):
        assert decision["message"]
    # Exactly the path taken ran; every node of the branches not taken was skipped. Where the
    # model was unsure it failed (ModelUnsure, absorbed by the join) and the rules decided.
    unsure = leaf == "other"
    assert {n for n, s in result.node_states.items() if s == "succeeded"} == path
    assert {n for n, s in result.node_states.items() if s != "succeeded"} == set(result.node_states) - path
    assert all(s == "skipped" for n, s in result.node_states.items() if n not in path | {"model"})
    assert [(e.node_id, e.error_type) for e in events(result, "node_failed")] == (
        [("model", "ModelUnsure")] if unsure else [])
    assert node_output(result, "classify")["intent_by"] == ("rules" if unsure else "model")
    assert len([e for e in events(result, "node_succeeded") if e.node_id.startswith("decision_")]) == 1


def test_decision_tree_routers_emit_only_the_chosen_port() -> None:
    inquiry, _, _ = LEAVES["escalate_prior_refunds"]
    result = run_sample("decision_tree", {"inquiry": inquiry})

    (route,) = events(result, "node_succeeded", "route_intent")
    assert list(route.output) == ["refund"]
    assert route.edges_taken == ["route_intent.refund-lookup_order"]
    (policy,) = events(result, "node_succeeded", "refund_policy")
    assert list(policy.output) == ["repeat_refunder"]
    assert policy.output["repeat_refunder"]["prior_refunds"] == 3
    assert node_output(result, "classify")["intent"] == "refund"
    assert node_output(result, "lookup_order")["days_since_purchase"] == 90


def test_decision_tree_today_comes_from_the_inquiry() -> None:
    inquiry = {**LEAVES["manual_review"][0], "today": "2025-11-20"}  # 5 days after purchase
    result = run_sample("decision_tree", {"inquiry": inquiry})
    assert result.outputs["decision"] == {"action": "auto_approve", "order_id": "A-103", "refund_amount": 45.5,
                                          "customer_id": "C003"}


def test_decision_tree_ticket_id_is_stable() -> None:
    inquiry = LEAVES["create_ticket"][0]
    first = run_sample("decision_tree", {"inquiry": inquiry})
    again = run_sample("decision_tree", {"inquiry": inquiry})
    other = run_sample("decision_tree", {"inquiry": {**inquiry, "message": "Upload fails with an error code 17"}})
    assert first.outputs["decision"]["ticket_id"] == again.outputs["decision"]["ticket_id"]
    assert other.outputs["decision"]["action"] == "create_ticket"
    assert other.outputs["decision"]["ticket_id"] != first.outputs["decision"]["ticket_id"]


@pytest.mark.parametrize(
    ("inquiry", "error"),
    [
        ({"customer_id": "C001", "message": "refund please"}, "ValueError: a refund request needs an order_id"),
        ({"customer_id": "C001", "message": "refund please", "order_id": "A-999"},
         "LookupError: order 'A-999' not found"),
        ({"customer_id": "C003", "message": "refund please", "order_id": "A-100"},
         "PermissionError: order 'A-100' does not belong to customer 'C003'"),
    ],
)
def test_decision_tree_bad_refund_request_fails_at_lookup(inquiry: dict[str, Any], error: str) -> None:
    result = run_sample("decision_tree", {"inquiry": inquiry})
    assert result.status == "failed"
    assert (result.failed_node, result.error) == ("lookup_order", error)
    assert result.outputs == {}
    assert result.node_states["search_kb"] == "skipped"  # settled before the failure
    assert result.node_states["refund_policy"] == "cancelled"
