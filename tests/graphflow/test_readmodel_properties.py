"""Live and replay read a run the same way, by construction: checked on random runs.

Random valid graphs (the strategy of test_properties.py) run by the real engine. The live
side is a sink that folds each event as it is published (what the canvas and the CLI do);
the replay side reads the stored log (each event through its JSON form, as storage keeps
it) and folds it up to a cursor with the replay page's ``Player``. At every cursor the two
states are equal, and at the end every edge is decided, consistently with the node states.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from test_properties import SETTINGS, run_with_deadline, valid_graphs

import graphflow
from graphflow.events import Event, NodeStatus, event_from_json, event_to_json
from graphflow.state import RunState
from graphflow.ui.pages.replay_player import Player


class LiveFold:
    """A sink like the live canvas: folds every event as it arrives, keeps each state."""

    def __init__(self) -> None:
        self.state = RunState()
        self.states: list[RunState] = []

    async def publish(self, event: Event) -> None:
        self.state.apply(event)
        self.states.append(self.state.copy())


@settings(SETTINGS, max_examples=80)
@given(valid_graphs())
def test_live_fold_and_replay_of_the_stored_log_agree(graph: dict[str, Any]) -> None:
    live = LiveFold()
    result = run_with_deadline(graph, sinks=[live])
    stored = [event_from_json(event_to_json(e)) for e in result.events]
    assert len(live.states) == len(stored)

    player = Player(stored, snapshot_every=7)  # small: the snapshots are exercised too
    for cursor in [*range(len(stored) - 1, -1, -3), *range(len(stored))]:  # backwards (rebuilds), then forwards
        assert player.seek(cursor) == live.states[cursor], cursor
    final = live.states[-1]
    assert final == RunState.from_events(stored)

    spec = graphflow.load_graph(graph)
    edges = final.edge_states(spec.edges)
    assert None not in edges.values()  # the run ended: every edge is decided
    sources = {e.id: e.source for e in spec.edges}
    for node_id, record in final.nodes.items():
        assert all(sources[e] == node_id for e in record.edges_taken)
        if record.reason == "no incoming branch was taken":
            assert not [e for e in spec.edges if e.target == node_id and edges[e.id] == "taken"]
    for e in spec.edges:
        if e.source_port == "error" and edges[e.id] == "taken":
            assert final.nodes[e.source].status is NodeStatus.FAILED
