"""Review items in memory (``ports.ReviewStore``), for ``MemoryStore``: the same rules as
``storage/reviews.py``. A review node's wait makes its pending item; a decision updates the item
and claims its node's wake in one step (nothing awaits between them, so of a decision and its
timeout exactly one takes effect); a timer's wake times the item out; the run's end closes it.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from graphflow import events as ev
from graphflow.errors import WakeRefused
from graphflow.ports import NotFound, ReviewItem
from graphflow.review import PENDING, STATUS_OF, check_decision, decided_label, not_decidable, too_late
from graphflow.waits import Wake


class MemoryReviews:
    """The ``ReviewStore`` half of ``MemoryStore``; it supplies the run's graph, the wake claim and the time."""

    _reviews: dict[str, ReviewItem]

    def _graph_of(self, run_id: str) -> str:
        raise NotImplementedError

    def _claim(self, run_id: str, node_id: str, wake: Wake) -> bool:
        raise NotImplementedError

    def _time(self) -> float:
        raise NotImplementedError

    def _derive_review(self, event: ev.Event) -> None:
        if isinstance(event, ev.NodeWaiting) and event.wait_kind == "decision" and event.key:
            if event.key not in self._reviews:  # a node waiting again after a resume keeps its item
                detail = json.loads(json.dumps(event.detail))
                confidence = detail.get("confidence")
                self._reviews[event.key] = ReviewItem(
                    id=event.key, run_id=event.run_id, node_id=event.node_id, status=PENDING, payload=detail,
                    created_at=event.at, graph_id=self._graph_of(event.run_id),
                    reason=str(detail.get("reason") or ""), due_at=event.due_at,
                    confidence=confidence if isinstance(confidence, int | float) else None)
        elif isinstance(event, ev.RunFinished | ev.RunCancelled):
            for item in self._items(run_id=event.run_id, status=PENDING):
                self._reviews[item.id] = replace(item, status="closed", decided_at=event.at)

    def _timed_out(self, run_id: str, node_id: str, at: float) -> None:
        for item in self._items(run_id=run_id, status=PENDING):
            if item.node_id == node_id:
                self._reviews[item.id] = replace(item, status="timed_out", verdict="timeout", decided_by="timer",
                                                 decided_at=at)

    def _items(self, **given: Any) -> list[ReviewItem]:
        return [i for i in self._reviews.values()
                if all(value is None or getattr(i, name) == value for name, value in given.items())]

    async def review_items(self, *, status: str | None = PENDING, graph_id: str | None = None,
                           reason: str | None = None, limit: int = 500) -> list[ReviewItem]:
        found = self._items(status=status, graph_id=graph_id, reason=reason)
        return sorted(found, key=lambda i: i.created_at)[:limit]

    async def get_review_item(self, item_id: str) -> ReviewItem:
        item = self._reviews.get(item_id)
        if item is None:
            raise NotFound(f"no review item {item_id!r}")
        return item

    async def labelled_items(self, graph_id: str | None = None) -> list[ReviewItem]:
        found = [i for i in self._items(graph_id=graph_id) if i.label is not None]
        return sorted(found, key=lambda i: i.decided_at or 0.0)

    async def decide_review(self, item_id: str, data: dict[str, Any], by: str) -> ReviewItem:
        item = await self.get_review_item(item_id)
        if item.status != PENDING:
            raise WakeRefused(not_decidable(item.status, item.id, item.decided_by))
        decision = check_decision(item.detail, data)
        now = self._time()
        if not self._claim(item.run_id, item.node_id, Wake("decision", now, decision, by=by)):
            self._timed_out(item.run_id, item.node_id, now)
            raise WakeRefused(too_late(item_id))
        kind = decision["decision"]
        self._reviews[item_id] = replace(
            item, status=STATUS_OF[kind], decided_at=now, decision=json.loads(json.dumps(decision)), decided_by=by,
            verdict=kind, edited_value=decision.get("value"),
            label=decided_label(item.variant, decision, item.detail.get("proposal")))
        return self._reviews[item_id]
