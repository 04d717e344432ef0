"""make_event skips pydantic's validation for speed, but never a wrong field name or a missing one."""

from __future__ import annotations

import pytest

from graphflow import events as ev


def test_misspelt_field_raises_at_once():
    with pytest.raises(TypeError, match="node_idd"):
        ev.make_event(ev.NodeStarted, run_id="r", seq=0, at=0.0, node_idd="a")


def test_missing_required_field_raises_at_once():
    with pytest.raises(TypeError, match="error_message"):
        ev.make_event(ev.NodeFailed, run_id="r", seq=0, at=0.0, node_id="a", error_type="X")


def test_a_valid_event_round_trips_through_json():
    event = ev.make_event(ev.NodeStarted, run_id="r", seq=0, at=0.0, node_id="a")
    assert ev.event_from_json(ev.event_to_json(event)) == event
