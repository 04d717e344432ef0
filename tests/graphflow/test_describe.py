"""The one event describer and the one formatting module."""

from __future__ import annotations

import time

from graphflow import events as ev
from graphflow import formatting as fmt
from graphflow.describe import describe


def test_event_log_lines() -> None:
    line = describe(ev.NodeRetrying(run_id="r", seq=1, at=10.5, node_id="p", attempt=2, delay=0.1,
                                    error_type="ConnectionError", error_message="down"), t0=10.0)
    assert line == "+500 ms  node_retrying  p (attempt 2): ConnectionError: down, retry in 100 ms"
    assert describe(ev.BreakerChanged(run_id="r", seq=2, at=0, breaker="api", from_state="closed",
                                      to_state="open"), t0=0).endswith("breaker_changed  api: closed -> open")
    degraded = ev.NodeSucceeded(run_id="r", seq=3, at=0, node_id="enrich", degraded=True, error="TimeoutError: slow",
                                duration=0.0123)
    assert describe(degraded, t0=0).endswith("node_succeeded  enrich in 12 ms (degraded: TimeoutError: slow)")
    cached = ev.NodeSucceeded(run_id="r", seq=4, at=0, node_id="kb", cached=True)
    assert describe(cached, t0=0).endswith("node_succeeded  kb in 0.0 ms (cached)")
    failed = ev.NodeFailed(run_id="r", seq=5, at=0, node_id="a", duration=1.5, error_type="E", error_message="m",
                           edges_taken=["a-err"])
    assert describe(failed, t0=0).endswith("node_failed  a (attempt 1) in 1.50 s: E: m -> error edge a-err")
    skipped = ev.NodeSkipped(run_id="r", seq=6, at=0, node_id="b", reason="no incoming branch was taken")
    assert describe(skipped, t0=0).endswith("node_skipped  b: no incoming branch was taken")


def test_times_as_offsets_or_wall_clock() -> None:
    at = 1_700_000_000.25
    event = ev.NodeStarted(run_id="r", seq=1, at=at, node_id="a")
    assert describe(event, t0=at - 2) == "+2.00 s  node_started  a"
    wall = time.strftime("%H:%M:%S", time.localtime(at)) + ".250"
    assert describe(event) == f"{wall}  node_started  a"


def test_formatting() -> None:
    assert [fmt.duration(x) for x in (None, 0.0004, 0.0123, 0.123, 1.234, 65.0)] == [
        "-", "0.4 ms", "12 ms", "123 ms", "1.23 s", "65.00 s"]
    assert fmt.offset(0.123) == "+123 ms" and fmt.offset(-1) == "+0.0 ms"
    assert [fmt.percent(x) for x in (None, 0.0, 0.5, 0.999, 1.0)] == ["-", "0%", "50%", "99%", "100%"]
    assert [fmt.cost(x) for x in (None, 0.0, 0.01234)] == ["-", "0", "0.0123"]
    assert fmt.when(None) == "-" and fmt.when(0) == "-" and len(fmt.when(1_700_000_000)) == 19


def test_a_due_time_reads_as_a_time_of_day_only_on_the_same_day() -> None:
    noon = time.mktime((2026, 12, 5, 12, 0, 0, 0, 0, -1))
    wait = {"node_id": "w", "kind": "event", "key": "approved"}
    soon = describe(ev.RunWaiting(run_id="r", seq=3, at=noon, waits=[wait | {"due_at": noon + 60}]), t0=noon)
    assert soon.endswith("waiting for w: event 'approved' (due 12:01:00.000)")
    later = describe(ev.RunWaiting(run_id="r", seq=3, at=noon, waits=[wait | {"due_at": noon + 14 * 86_400}]), t0=noon)
    assert later.endswith("waiting for w: event 'approved' (due 2026-12-19 12:00:00)")
    assert fmt.moment(noon + 86_400, noon) == "2026-12-06 12:00:00"
