"""The planner, driven by hand: no event loop, no tasks."""

from __future__ import annotations

import pytest
from graphs import edge, fn, graph, node

import graphflow
from graphflow.plan import ErrorInfo, NodeState, Plan


@pytest.fixture
def registry() -> graphflow.Registry:
    reg = graphflow.default_registry(installed=False)
    reg.register_function("f", lambda v: v)
    return reg


def plan_of(registry: graphflow.Registry, *items: dict) -> Plan:
    return Plan(graphflow.validate_graph(graph(*items), registry))


def states(plan: Plan) -> dict[str, str]:
    return {n: s.value for n, s in plan.states().items()}


def boom(node_id: str) -> ErrorInfo:
    return ErrorInfo("RuntimeError", "boom", node_id)


def test_roots_are_ready_and_successors_wait(registry):
    plan = plan_of(registry, fn("a", "f"), fn("b", "f"), node("c", "join"), edge("a", "c"), edge("b", "c"))
    assert plan.take_ready() == ["a", "b"]
    assert plan.take_ready() == []
    plan.mark_succeeded("a", {"out": 1})
    assert plan.take_ready() == []
    plan.mark_succeeded("b", {"out": 2})
    assert plan.state_of("c") is NodeState.SUCCEEDED
    assert plan.output_of("c") == {"out": {"a": 1, "b": 2}}
    assert plan.finished and plan.status == "succeeded"
    assert [(t.node_id, t.state.value) for t in plan.take_transitions()] == [
        ("a", "succeeded"), ("c", "running"), ("b", "succeeded"), ("c", "succeeded")]


def test_take_ready_respects_limit(registry):
    plan = plan_of(registry, *(fn(f"n{i}", "f") for i in range(5)))
    assert len(plan.take_ready(2)) == 2
    assert len(plan.take_ready(10)) == 3


def test_marking_a_node_that_is_not_running_is_an_error(registry):
    plan = plan_of(registry, fn("a", "f"), fn("b", "f"), edge("a", "b"))
    with pytest.raises(ValueError, match="'b' is pending, not running"):
        plan.mark_succeeded("b", {"out": 1})
    plan.take_ready()
    plan.mark_succeeded("a", {"out": 1})
    with pytest.raises(ValueError, match="'a' is succeeded"):
        plan.mark_failed("a", boom("a"))


def test_unchosen_port_skips_branch_and_skip_propagates(registry):
    plan = plan_of(
        registry,
        node("cond", "condition", expression="value > 0"),
        fn("yes", "f"), fn("yes2", "f"), fn("no", "f"), fn("no2", "f"),
        edge("cond", "yes", "true"), edge("yes", "yes2"), edge("cond", "no", "false"), edge("no", "no2"),
        node("c0", "constant", value=5), edge("c0", "cond"),
    )
    plan.take_ready()
    plan.mark_succeeded("c0", {"out": 5})
    assert plan.take_ready() == ["cond"]
    plan.mark_succeeded("cond", {"true": 5})
    assert plan.state_of("no") is NodeState.SKIPPED and plan.state_of("no2") is NodeState.SKIPPED
    assert plan.take_ready() == ["yes"]


def test_edge_condition_false_is_a_dead_edge(registry):
    plan = plan_of(registry, fn("a", "f"), fn("b", "f"), edge("a", "b", condition="value == 'go'"))
    plan.take_ready()
    plan.mark_succeeded("a", {"out": "stop"})
    assert states(plan) == {"a": "succeeded", "b": "skipped"}
    taken = plan.take_transitions()[0].edges_taken
    assert taken == ()


def test_edge_condition_error_fails_the_source(registry):
    plan = plan_of(registry, fn("a", "f"), fn("b", "f"), edge("a", "b", condition="value.missing > 1"))
    plan.take_ready()
    plan.mark_succeeded("a", {"out": {"x": 1}})
    assert plan.state_of("a") is NodeState.FAILED
    assert plan.failure is not None and "missing" in plan.failure.message


def test_node_with_one_live_and_one_dead_input_runs_when_inputs_optional(registry):
    # function "in" is optional; a node runs if at least one incoming edge is live
    plan = plan_of(
        registry,
        node("cond", "condition", expression="value"), node("c0", "constant", value=True),
        fn("x", "f"), fn("y", "f"), node("j", "join"), edge("c0", "cond"),
        edge("cond", "x", "true"), edge("cond", "y", "false"), edge("x", "j"), edge("y", "j"),
    )
    plan.take_ready()
    plan.mark_succeeded("c0", {"out": True})
    plan.take_ready()
    plan.mark_succeeded("cond", {"true": True})
    assert plan.take_ready() == ["x"]
    plan.mark_succeeded("x", {"out": 1})
    assert plan.state_of("j") is NodeState.SUCCEEDED
    assert plan.output_of("j") == {"out": {"x": 1}}


def test_unhandled_failure_cancels_everything_else(registry):
    plan = plan_of(registry, fn("a", "f"), fn("b", "f"), fn("c", "f"), edge("a", "c"))
    plan.take_ready()
    plan.mark_failed("b", boom("b"))
    assert states(plan) == {"a": "cancelled", "b": "failed", "c": "cancelled"}
    assert plan.status == "failed" and plan.failure == boom("b")


def three_branches(registry, **join_config) -> Plan:
    return plan_of(
        registry, fn("a", "f"), fn("b", "f"), fn("c", "f"), node("j", "join", **join_config),
        node("out", "output", name="r"), edge("a", "j"), edge("b", "j"), edge("c", "j"), edge("j", "out"),
    )


def test_join_all_fails_fast_and_cancels_siblings(registry):
    plan = three_branches(registry, strategy="all")
    plan.take_ready()
    plan.mark_succeeded("a", {"out": 1})
    plan.mark_failed("b", boom("b"))
    assert states(plan) == {"a": "succeeded", "b": "failed", "c": "cancelled", "j": "cancelled", "out": "cancelled"}
    assert plan.status == "failed"


def test_join_best_effort_keeps_partial_results(registry):
    plan = three_branches(registry, strategy="best_effort", required=["a"])
    plan.take_ready()
    plan.mark_failed("b", boom("b"))
    assert plan.state_of("c") is NodeState.RUNNING
    plan.mark_succeeded("a", {"out": 1})
    plan.mark_succeeded("c", {"out": 3})
    assert plan.output_of("j")["out"] == {"results": {"a": 1, "c": 3}, "errors": {"b": "RuntimeError: boom"},
                                        "partial": True}
    failed = [t for t in plan.take_transitions() if t.state is NodeState.FAILED]
    assert failed[0].handled is True
    assert plan.take_ready() == ["out"]


def test_join_best_effort_fails_when_required_branch_fails(registry):
    plan = three_branches(registry, strategy="best_effort", required=["a"])
    plan.take_ready()
    plan.mark_failed("a", boom("a"))
    plan.mark_succeeded("b", {"out": 2})
    plan.mark_succeeded("c", {"out": 3})
    assert plan.state_of("j") is NodeState.FAILED
    assert plan.failure is not None and plan.failure.node_id == "j" and "'a'" in plan.failure.message


def test_quorum_finishes_early_and_cancels_the_rest(registry):
    plan = three_branches(registry, strategy="quorum", quorum=2)
    plan.take_ready()
    plan.mark_succeeded("a", {"out": 1})
    assert plan.state_of("j") is NodeState.RUNNING  # waiting on its branches
    plan.mark_succeeded("c", {"out": 3})
    assert plan.state_of("j") is NodeState.SUCCEEDED
    assert plan.state_of("b") is NodeState.CANCELLED
    assert plan.output_of("j")["out"]["results"] == {"a": 1, "c": 3}


def test_quorum_fails_as_soon_as_it_is_impossible(registry):
    plan = three_branches(registry, strategy="quorum", quorum=2)
    plan.take_ready()
    plan.mark_failed("a", boom("a"))
    assert plan.state_of("j") is NodeState.RUNNING  # waiting on its branches
    plan.mark_failed("b", boom("b"))
    assert plan.state_of("j") is NodeState.FAILED
    assert plan.state_of("c") is NodeState.CANCELLED
    assert "quorum of 2 not reachable" in plan.failure.message


def test_first_success_sequential_tries_branches_in_order(registry):
    plan = three_branches(registry, strategy="first_success", order=["b", "a", "c"])
    assert plan.take_ready() == ["b"]
    plan.mark_failed("b", boom("b"))
    assert plan.take_ready() == ["a"]
    plan.mark_succeeded("a", {"out": "from a"})
    assert plan.output_of("j")["out"] == {"source": "a", "value": "from a"}
    assert plan.state_of("c") is NodeState.SKIPPED


def test_first_success_sequential_holds_whole_branch_chains(registry):
    plan = plan_of(
        registry, fn("p1", "f"), fn("p2", "f"), fn("b1", "f"), fn("b2", "f"),
        node("j", "join", strategy="first_success"),
        edge("p1", "p2"), edge("p2", "j"), edge("b1", "b2"), edge("b2", "j"),
    )
    assert plan.take_ready() == ["p1"]
    plan.mark_succeeded("p1", {"out": 1})
    assert plan.take_ready() == ["p2"]
    plan.mark_failed("p2", boom("p2"))
    assert plan.take_ready() == ["b1"]
    plan.mark_succeeded("b1", {"out": 1})
    plan.take_ready()
    plan.mark_succeeded("b2", {"out": 2})
    assert plan.status == "succeeded" and plan.output_of("j")["out"]["source"] == "b2"


def test_first_success_race_takes_first_and_cancels_rest(registry):
    plan = three_branches(registry, strategy="first_success", mode="race")
    assert plan.take_ready() == ["a", "b", "c"]
    plan.mark_failed("a", boom("a"))
    plan.mark_succeeded("c", {"out": "c!"})
    assert plan.output_of("j")["out"] == {"source": "c", "value": "c!"}
    assert plan.state_of("b") is NodeState.CANCELLED


def test_first_success_all_fail(registry):
    plan = three_branches(registry, strategy="first_success", mode="race")
    plan.take_ready()
    for n in "abc":
        plan.mark_failed(n, boom(n))
    assert plan.state_of("j") is NodeState.FAILED and plan.status == "failed"


def test_failure_inside_tolerated_chain_skips_downstream_with_the_error(registry):
    plan = plan_of(
        registry, fn("a1", "f"), fn("a2", "f"), fn("b", "f"), node("j", "join", strategy="best_effort"),
        edge("a1", "a2"), edge("a2", "j"), edge("b", "j"),
    )
    plan.take_ready()
    plan.mark_failed("a1", boom("a1"))
    assert plan.state_of("a2") is NodeState.SKIPPED
    plan.mark_succeeded("b", {"out": 2})
    assert plan.output_of("j")["out"]["errors"] == {"a2": "RuntimeError: boom"}


def test_cancel_marks_every_open_node(registry):
    plan = plan_of(registry, fn("a", "f"), fn("b", "f"), edge("a", "b"))
    plan.take_ready()
    plan.cancel("stop")
    assert states(plan) == {"a": "cancelled", "b": "cancelled"}
    assert plan.status == "cancelled"
    plan.cancel("again")  # no-op once finished
    assert plan.cancel_reason == "stop"


def test_a_disabled_node_is_skipped_and_what_depends_on_it_too(registry):
    off = node("b", "function", function="f", _node={"disabled": True})
    plan = plan_of(registry, fn("a", "f"), off, fn("c", "f"), fn("d", "f"),
                   edge("a", "b"), edge("b", "c"), edge("a", "d"))
    assert plan.take_ready() == ["a"]
    plan.mark_succeeded("a", {"out": 1})
    assert plan.take_ready() == ["d"]
    assert states(plan)["b"] == "skipped" and states(plan)["c"] == "skipped"
    assert [t.reason for t in plan.take_transitions() if t.node_id == "b"] == ["disabled"]


def test_a_disabled_root_and_a_disabled_join_are_skipped(registry):
    plan = plan_of(registry, node("a", "function", function="f", _node={"disabled": True}), fn("b", "f"),
                   node("j", "join", _node={"disabled": True}), edge("b", "j"), fn("after", "f"), edge("j", "after"))
    assert plan.take_ready() == ["b"]
    plan.mark_succeeded("b", {"out": 2})
    assert states(plan) == {"a": "skipped", "b": "succeeded", "j": "skipped", "after": "skipped"}
    assert plan.finished and plan.status == "succeeded"
