"""Retry arithmetic and circuit breakers, driven by a fake clock: nothing here sleeps."""

from __future__ import annotations

import json
import random
from collections.abc import Callable

import pytest
from pydantic import ValidationError

from graphflow.clock import FakeClock
from graphflow.errors import NodeError, NodeTimeout
from graphflow.events import BreakerChanged
from graphflow.policies import BreakerPolicy, CachePolicy, RetryPolicy
from graphflow.resilience import (
    BreakerOpen,
    BreakerRegistry,
    BreakerState,
    CircuitBreaker,
    Permit,
    StateChange,
    backoff_delay,
    should_retry,
)

CLOSED, OPEN, HALF_OPEN = BreakerState.CLOSED, BreakerState.OPEN, BreakerState.HALF_OPEN
POLICY = BreakerPolicy(name="crm-api", failure_threshold=3, reset_timeout=10, probe_timeout=5)


def fail(breaker: CircuitBreaker, times: int = 1) -> None:
    for _ in range(times):
        breaker.acquire().failure()


def succeed(breaker: CircuitBreaker, times: int = 1) -> None:
    for _ in range(times):
        breaker.acquire().success()


# --- policies -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "policy",
    [
        RetryPolicy(max_attempts=4, retry_on=["ConnectionError", "NodeTimeout"], no_retry_on=["ValueError"]),
        RetryPolicy(jitter="none", attempt_timeout=2.5),
        BreakerPolicy(name="crm-api", failure_rate=0.5, window=20, min_calls=10),
        CachePolicy(enabled=True, ttl=60),
    ],
)
def test_policies_round_trip_through_json(policy):
    assert type(policy).model_validate_json(policy.model_dump_json()) == policy
    assert type(policy).model_validate(json.loads(json.dumps(policy.model_dump(mode="json")))) == policy


@pytest.mark.parametrize(
    "model, data",
    [
        (RetryPolicy, {"max_attempts": 0}),
        (RetryPolicy, {"jitter": "equal"}),
        (RetryPolicy, {"base_delay": -1}),
        (RetryPolicy, {"retries": 3}),
        (BreakerPolicy, {"name": ""}),
        (BreakerPolicy, {"name": "x", "failure_rate": 1.5}),
        (BreakerPolicy, {"name": "x", "failure_rate": 0.5, "window": 5, "min_calls": 6}),
        (BreakerPolicy, {"name": "x", "half_open_max_probes": 0}),
        (CachePolicy, {"ttl": 0}),
    ],
)
def test_policies_reject_bad_data(model, data):
    with pytest.raises(ValidationError):
        model.model_validate(data)


def test_policies_are_frozen():
    policy = RetryPolicy()
    with pytest.raises(ValidationError):
        policy.max_attempts = 3  # type: ignore[misc]
    assert hash(policy) == hash(RetryPolicy())


# --- backoff --------------------------------------------------------------------------------------


@pytest.mark.parametrize("attempt", [1, 2, 3, 5, 7, 8, 12])
def test_full_jitter_stays_within_the_bound_and_averages_half_of_it(attempt):
    policy = RetryPolicy(base_delay=0.5, max_delay=30)
    bound = min(30, 0.5 * 2 ** (attempt - 1))
    rng = random.Random(1234 + attempt)
    delays = [backoff_delay(policy, attempt, rng) for _ in range(10_000)]
    assert all(0 <= d <= bound for d in delays)
    assert sum(delays) / len(delays) == pytest.approx(bound / 2, rel=0.03)
    assert max(delays) > 0.95 * bound and min(delays) < 0.05 * bound


@pytest.mark.parametrize("attempt, expected", [(1, 0.5), (2, 1.0), (3, 2.0), (6, 16.0), (7, 30.0), (50, 30.0)])
def test_no_jitter_waits_exactly_the_bound(attempt, expected):
    assert backoff_delay(RetryPolicy(jitter="none"), attempt, random.Random(0)) == expected


@pytest.mark.parametrize("attempt", [1_030, 10_000, 10**9])
def test_backoff_does_not_overflow_for_huge_attempts(attempt):
    policy = RetryPolicy(base_delay=5, max_delay=60)
    assert backoff_delay(policy.model_copy(update={"jitter": "none"}), attempt, random.Random(0)) == 60
    assert 0 <= backoff_delay(policy, attempt, random.Random(0)) <= 60


def test_backoff_is_reproducible_from_a_seed_and_rejects_attempt_zero():
    policy = RetryPolicy(max_attempts=5)
    first = [backoff_delay(policy, n, random.Random(7)) for n in range(1, 5)]
    assert first == [backoff_delay(policy, n, random.Random(7)) for n in range(1, 5)]
    with pytest.raises(ValueError, match="attempt"):
        backoff_delay(policy, 0, random.Random(0))


# --- should_retry ---------------------------------------------------------------------------------

LISTED = RetryPolicy(max_attempts=3, retry_on=["ConnectionError", "NodeTimeout"], no_retry_on=["PermissionError"])


@pytest.mark.parametrize(
    "policy, error, attempt, expected",
    [
        (RetryPolicy(max_attempts=3), "ValueError", 1, True),
        (RetryPolicy(max_attempts=3), "ValueError", 2, True),
        (RetryPolicy(max_attempts=3), "ValueError", 3, False),
        (RetryPolicy(max_attempts=3), "ValueError", 9, False),
        (RetryPolicy(), "ConnectionError", 1, False),
        (LISTED, "ConnectionError", 1, True),
        (LISTED, "NodeTimeout", 2, True),
        (LISTED, "ValueError", 1, False),
        (LISTED, "PermissionError", 1, False),
        (RetryPolicy(max_attempts=3, retry_on=["KeyError"], no_retry_on=["KeyError"]), "KeyError", 1, False),
        (RetryPolicy(max_attempts=3, no_retry_on=["KeyError"]), "KeyError", 1, False),
        (RetryPolicy(max_attempts=3, no_retry_on=["KeyError"]), "IndexError", 1, True),
        (RetryPolicy(max_attempts=9), "BreakerOpen", 1, False),
        (RetryPolicy(max_attempts=9, retry_on=["BreakerOpen"]), "BreakerOpen", 1, False),
        (LISTED, ConnectionRefusedError("refused"), 1, True),
        (LISTED, NodeTimeout(3), 1, True),
        (LISTED, PermissionError("no"), 1, False),
        (RetryPolicy(max_attempts=9), BreakerOpen("crm-api", 4.0), 1, False),
        (RetryPolicy(max_attempts=9, retry_on=["NodeError"]), BreakerOpen("crm-api", 4.0), 1, False),
    ],
)
def test_should_retry(policy, error, attempt, expected):
    assert should_retry(policy, error, attempt) is expected


def test_one_attempt_never_retries():
    for error in ["ValueError", "ConnectionError", "NodeTimeout", ConnectionError()]:
        assert not should_retry(RetryPolicy(), error, 1)
    with pytest.raises(ValueError, match="attempt"):
        should_retry(RetryPolicy(max_attempts=3), "ValueError", 0)


def test_breaker_open_is_a_node_error_with_structured_fields():
    error = BreakerOpen("crm-api", 2.5)
    assert isinstance(error, NodeError)
    assert (error.breaker, error.retry_after) == ("crm-api", 2.5)
    assert "crm-api" in str(error)


# --- the breaker as a table of (starting state, event) -> resulting state -------------------------


def start(state: str) -> tuple[FakeClock, CircuitBreaker, Permit | None]:
    clock = FakeClock()
    breaker = CircuitBreaker(POLICY, clock)
    probe = None
    if state == "near_threshold":
        fail(breaker, 2)
    if state in ("open", "half_open", "probing"):
        fail(breaker, 3)
    if state in ("half_open", "probing"):
        clock.advance(10)
    if state == "probing":
        probe = breaker.acquire()
    breaker.take_changes()
    return clock, breaker, probe


def settle(outcome: str) -> Callable[[FakeClock, CircuitBreaker, Permit | None], None]:
    def event(clock: FakeClock, breaker: CircuitBreaker, probe: Permit | None) -> None:
        getattr(probe or breaker.acquire(), outcome)()

    return event


def wait(seconds: float) -> Callable[[FakeClock, CircuitBreaker, Permit | None], None]:
    return lambda clock, breaker, probe: clock.advance(seconds)


def acquire(clock: FakeClock, breaker: CircuitBreaker, probe: Permit | None) -> None:
    breaker.acquire()


@pytest.mark.parametrize(
    "start_state, event, refused, end_state, changes",
    [
        ("closed", settle("success"), False, CLOSED, []),
        ("closed", settle("failure"), False, CLOSED, []),
        ("closed", settle("release"), False, CLOSED, []),
        ("closed", wait(1_000), False, CLOSED, []),
        ("near_threshold", settle("failure"), False, OPEN, [(CLOSED, OPEN)]),
        ("near_threshold", settle("success"), False, CLOSED, []),
        ("near_threshold", settle("release"), False, CLOSED, []),
        ("open", acquire, True, OPEN, []),
        ("open", settle("success"), True, OPEN, []),
        ("open", wait(9.99), False, OPEN, []),
        ("open", wait(10), False, HALF_OPEN, [(OPEN, HALF_OPEN)]),
        ("half_open", settle("success"), False, CLOSED, [(HALF_OPEN, CLOSED)]),
        ("half_open", settle("failure"), False, OPEN, [(HALF_OPEN, OPEN)]),
        ("half_open", settle("release"), False, HALF_OPEN, []),
        ("half_open", wait(1_000), False, HALF_OPEN, []),
        ("probing", acquire, True, HALF_OPEN, []),
        ("probing", settle("success"), False, CLOSED, [(HALF_OPEN, CLOSED)]),
        ("probing", settle("failure"), False, OPEN, [(HALF_OPEN, OPEN)]),
        ("probing", settle("release"), False, HALF_OPEN, []),
        ("probing", wait(4.99), False, HALF_OPEN, []),
        ("probing", wait(5), False, OPEN, [(HALF_OPEN, OPEN)]),
        ("probing", wait(15), False, HALF_OPEN, [(HALF_OPEN, OPEN), (OPEN, HALF_OPEN)]),
    ],
)
def test_breaker_transitions(start_state, event, refused, end_state, changes):
    clock, breaker, probe = start(start_state)
    if refused:
        with pytest.raises(BreakerOpen):
            event(clock, breaker, probe)
    else:
        event(clock, breaker, probe)
    assert breaker.state is end_state
    assert [(c.from_state, c.to_state) for c in breaker.take_changes()] == changes


def test_success_in_closed_resets_the_consecutive_count():
    breaker = CircuitBreaker(POLICY, FakeClock())
    for _ in range(10):
        fail(breaker, 2)
        succeed(breaker)
    assert breaker.state is CLOSED
    fail(breaker, 3)
    assert breaker.state is OPEN
    assert breaker.take_changes()[0].reason == "3 consecutive failures"


def test_failure_rate_opens_only_after_min_calls():
    policy = BreakerPolicy(name="x", failure_threshold=100, failure_rate=0.5, window=10, min_calls=6)
    breaker = CircuitBreaker(policy, FakeClock())
    fail(breaker, 3)
    succeed(breaker, 2)  # 3 of 5 failed: above the rate, but fewer calls than min_calls
    assert breaker.state is CLOSED
    succeed(breaker)  # 3 of 6
    assert breaker.state is OPEN
    (change,) = breaker.take_changes()
    assert change.reason == "failure rate 50% over the last 6 calls"


def test_failure_rate_is_measured_over_a_sliding_window():
    policy = BreakerPolicy(name="x", failure_threshold=100, failure_rate=0.75, window=4, min_calls=4)
    breaker = CircuitBreaker(policy, FakeClock())
    for outcome in ["failure", "failure", "success", "success", "failure", "success", "failure", "success", "failure"]:
        getattr(breaker.acquire(), outcome)()
        assert breaker.state is CLOSED  # never 3 failures among 4 consecutive calls
    fail(breaker)  # window: failure, success, failure, failure; over all 10 calls only 60% failed
    assert breaker.state is OPEN


def test_open_breaker_tells_how_long_to_wait():
    clock, breaker, _ = start("open")
    clock.advance(7.5)
    with pytest.raises(BreakerOpen) as raised:
        breaker.acquire()
    assert (raised.value.breaker, raised.value.retry_after) == ("crm-api", pytest.approx(2.5))
    clock, breaker, _ = start("probing")
    clock.advance(1)
    with pytest.raises(BreakerOpen) as raised:
        breaker.acquire()
    assert raised.value.retry_after == pytest.approx(4)


def test_hung_probe_reopens_at_its_deadline_and_its_late_outcome_is_ignored():
    clock, breaker, probe = start("probing")
    assert probe is not None and probe.probe
    clock.advance(7)
    assert breaker.state is OPEN
    (change,) = breaker.take_changes()
    assert (change.to_state, change.reason, change.at_monotonic) == (OPEN, "probe unsettled after 5s", 15)
    probe.success()  # too late: it already counted as failed
    assert breaker.state is OPEN
    clock.advance(7.99)  # reopened at t=15, not when noticed at t=17
    assert breaker.state is OPEN
    clock.advance(0.01)
    assert breaker.state is HALF_OPEN


def test_release_never_counts_as_failure():
    breaker = CircuitBreaker(BreakerPolicy(name="x", failure_threshold=1, failure_rate=0.1, min_calls=1), FakeClock())
    for _ in range(100):
        breaker.acquire().release()
    assert breaker.state is CLOSED
    assert breaker.snapshot()["recent"] == []
    clock, breaker, probe = start("probing")
    assert probe is not None
    probe.release()  # frees the only probe slot
    assert breaker.state is HALF_OPEN
    breaker.acquire().success()
    assert breaker.state is CLOSED


def test_half_open_admits_exactly_max_probes_until_they_settle():
    clock = FakeClock()
    breaker = CircuitBreaker(POLICY.model_copy(update={"half_open_max_probes": 2}), clock)
    fail(breaker, 3)
    clock.advance(10)
    permits, refused = [], 0
    for _ in range(10):
        try:
            permits.append(breaker.acquire())
        except BreakerOpen:
            refused += 1
    assert (len(permits), refused) == (2, 8)
    assert all(p.probe for p in permits)
    permits[0].release()
    third = breaker.acquire()
    with pytest.raises(BreakerOpen):
        breaker.acquire()
    third.failure()
    assert breaker.state is OPEN
    permits[1].success()  # a probe of the half-open period that already ended
    assert breaker.state is OPEN


def test_permits_from_an_earlier_state_do_not_count():
    clock = FakeClock()
    breaker = CircuitBreaker(POLICY, clock)
    early_ok, early_bad, slow = breaker.acquire(), breaker.acquire(), breaker.acquire()
    fail(breaker, 3)
    clock.advance(10)
    early_ok.success()  # not a probe: must not close the half-open breaker
    early_bad.failure()  # nor reopen it
    assert breaker.state is HALF_OPEN
    breaker.acquire().success()
    assert breaker.state is CLOSED
    fail(breaker, 2)
    slow.failure()  # acquired before the breaker last closed: not the third consecutive failure
    assert breaker.state is CLOSED
    assert breaker.take_changes()[-1].to_state is CLOSED


@pytest.mark.parametrize("first, second", [("success", "failure"), ("failure", "failure"), ("release", "success")])
def test_a_permit_settles_once(first, second):
    permit = CircuitBreaker(POLICY, FakeClock()).acquire()
    getattr(permit, first)()
    with pytest.raises(ValueError, match=f"already settled \\({first}\\)"):
        getattr(permit, second)()
    assert permit.settled == first


def test_take_changes_returns_each_change_once_and_they_become_events():
    clock, breaker, _ = start("open")
    clock.advance(10)
    breaker.acquire().success()
    changes = breaker.take_changes()
    assert [(c.from_state, c.to_state, c.reason) for c in changes] == [
        (OPEN, HALF_OPEN, "reset timeout"),
        (HALF_OPEN, CLOSED, "probe succeeded"),
    ]
    assert breaker.take_changes() == []
    assert all(isinstance(c, StateChange) for c in changes)
    event = BreakerChanged(
        run_id="r", seq=0, at=0.0, breaker=changes[0].breaker,
        from_state=changes[0].from_state, to_state=changes[0].to_state, reason=changes[0].reason,
    )  # fmt: skip
    assert json.loads(event.model_dump_json())["to_state"] == "half_open"


# --- persistence ----------------------------------------------------------------------------------


@pytest.mark.parametrize("state", ["closed", "near_threshold", "open", "half_open"])
def test_snapshot_restore_round_trip(state):
    clock, breaker, _ = start(state)
    clock.advance(4)
    snapshot = json.loads(json.dumps(breaker.snapshot()))
    later = FakeClock(start=1_000, wall_start=clock.time())  # another process: another monotonic origin
    restored = CircuitBreaker.restore(POLICY, later, snapshot)
    again = restored.snapshot()
    assert restored.state is breaker.state
    assert {**again, "opened_at": None} == {**snapshot, "opened_at": None}
    clock.advance(6)
    later.advance(6)  # the open one reaches half-open after the same 10s in both
    assert restored.state is breaker.state
    assert [(c.from_state, c.to_state) for c in restored.take_changes()] == [
        (c.from_state, c.to_state) for c in breaker.take_changes()
    ]


def test_snapshot_is_plain_json():
    clock, breaker, _ = start("near_threshold")
    breaker.acquire().success()
    breaker.acquire().failure()
    assert json.loads(json.dumps(breaker.snapshot())) == {
        "name": "crm-api",
        "state": "closed",
        "consecutive_failures": 1,
        "opened_at": None,
        "open_for": None,
        "opened_wall": None,
        "recent": ["failure", "failure", "success", "failure"],
    }
    clock.advance(3)
    fail(breaker, 2)  # the second and third consecutive failures
    clock.advance(2)
    snapshot = breaker.snapshot()
    assert (snapshot["state"], snapshot["opened_at"], snapshot["open_for"]) == ("open", 3, 2)
    assert snapshot["opened_wall"] == clock.time() - 2


def test_restore_rejects_a_snapshot_of_another_breaker():
    snapshot = CircuitBreaker(POLICY, FakeClock()).snapshot()
    with pytest.raises(ValueError, match="crm-api"):
        CircuitBreaker.restore(BreakerPolicy(name="billing"), FakeClock(), snapshot)
    with pytest.raises(ValueError):
        CircuitBreaker.restore(POLICY, FakeClock(), {**snapshot, "state": "ajar"})


# --- registry -------------------------------------------------------------------------------------


def test_registry_shares_breakers_by_name_and_keeps_the_first_policy():
    clock = FakeClock()
    registry = BreakerRegistry(clock)
    crm = registry.get(POLICY)
    other = POLICY.model_copy(update={"failure_threshold": 1})
    assert registry.get(other) is crm and crm.policy == POLICY
    registry.get(other)
    assert registry.conflicts == {"crm-api": [other]}
    billing = registry.get(BreakerPolicy(name="billing", failure_threshold=1, reset_timeout=2))
    assert billing is not crm
    fail(crm, 3)
    clock.advance(1)
    fail(billing)
    clock.advance(2)
    assert registry.states() == {"crm-api": OPEN, "billing": HALF_OPEN}
    changes = registry.take_changes()
    assert [(c.breaker, c.to_state) for c in changes] == [("crm-api", OPEN), ("billing", OPEN), ("billing", HALF_OPEN)]
    assert registry.take_changes() == []


def test_registry_restores_saved_breakers_on_first_use():
    clock = FakeClock()
    registry = BreakerRegistry(clock)
    fail(registry.get(POLICY), 3)
    saved = json.loads(json.dumps(registry.snapshots()))
    fresh = BreakerRegistry(FakeClock(start=50), saved)
    assert fresh.snapshots() == saved  # not used yet: kept as saved
    assert fresh.get(POLICY).state is OPEN
    assert fresh.states() == {"crm-api": OPEN}
