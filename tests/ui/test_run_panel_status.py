"""The run panel's one-word status (``ui/pages/live.py``): the run's own status, or why its log
ended without one; a waiting run says so (it showed 'not run')."""

from __future__ import annotations

import pytest

from graphflow import events as ev
from graphflow.state import RunState
from graphflow.ui.pages.live import panel_status


def state_after(*events: ev.Event) -> RunState:
    return RunState.from_events(events)


def started() -> ev.RunStarted:
    return ev.RunStarted(run_id="r", seq=0, at=0.0, graph_id="g", node_ids=["a"], inputs={})


@pytest.mark.parametrize(("events", "finished", "shown"), [
    ((), False, "starting"),
    ((), True, "not run"),
    ((started(),), False, "running"),
    ((started(),), True, "unfinished"),
    ((started(), ev.RunWaiting(run_id="r", seq=1, at=0.0, waits=[])), True, "waiting"),
    ((started(), ev.RunWaiting(run_id="r", seq=1, at=0.0, waits=[], paused="lunch")), True, "paused (lunch)"),
    ((started(), ev.RunFinished(run_id="r", seq=1, at=0.0, status="succeeded", outputs={}, duration=0.1)), True,
     "succeeded"),
    ((started(), ev.RunCancelled(run_id="r", seq=1, at=0.0, reason="stop", duration=0.1)), True, "cancelled"),
])
def test_the_panel_status(events, finished, shown):
    assert panel_status(state_after(*events), finished) == shown
