"""Human review, the pure part: which decisions a review takes, and what a decision makes.

A review node (``nodes/review.py``) waits for a ``decision`` whose item id is
``waits.review_item_id(run_id, node_id)``. The wait's ``detail`` says what the reviewer sees
and may do: ``proposal``, ``context``, ``reason``, ``confidence``, ``variant``, ``labels``.

Variants and the decisions each takes:

* ``approval`` (an approval gate): approve, or reject with a reason;
* ``review``: approve, edit (the edited value continues) or reject;
* ``label`` (active learning): give the correct label (one of ``labels`` when there are
  any), approve the proposal as the label, or reject;
* ``escalation``: a person takes over and writes the answer the run continues with, or rejects.

A decision is ``{"decision": ..., "value": ..., "reason": ..., "label": ...}``. ``check_decision``
is what the store runs before it claims the wake, so a decision that does not fit is refused
and nothing changes; the node runs it again when woken.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, cast

Variant = Literal["approval", "review", "label", "escalation"]
VARIANTS: tuple[Variant, ...] = ("approval", "review", "label", "escalation")
DECISIONS: dict[str, tuple[str, ...]] = {
    "approval": ("approve", "reject"),
    "review": ("approve", "edit", "reject"),
    "label": ("label", "approve", "reject"),
    "escalation": ("answer", "reject"),
}
"""The decisions each variant takes."""
REASONS = ("low_confidence", "model_uncertainty", "high_value", "escalation", "review")
"""Why an item was queued (a node may also name its own)."""
MAX_REASON = 2000
PENDING = "pending"
STATUS_OF = {"approve": "approved", "edit": "edited", "reject": "rejected", "label": "labelled",
             "answer": "answered"}
"""A review item's status after each decision (every store: ``storage/reviews.py``, ``graphflow.memory``)."""


def check_decision(detail: Mapping[str, Any], data: Any) -> dict[str, Any]:
    """The decision, cleaned (only known fields), or ``ValueError`` saying what does not fit."""
    if not isinstance(data, Mapping):
        raise ValueError("a decision is an object with a 'decision' field")
    raw = cast("Mapping[str, Any]", data)
    variant = str(detail.get("variant") or "review")
    allowed = DECISIONS.get(variant, DECISIONS["review"])
    decision = raw.get("decision")
    if decision not in allowed:
        raise ValueError(f"a {variant} review takes {', '.join(allowed)}, not {decision!r}")
    reason = raw.get("reason") or ""
    if not isinstance(reason, str) or len(reason) > MAX_REASON:
        raise ValueError(f"a decision's reason is text of at most {MAX_REASON} characters")
    out: dict[str, Any] = {"decision": decision, "reason": reason.strip()}
    if decision == "reject" and not out["reason"]:
        raise ValueError("a rejection needs a reason")
    if decision in ("edit", "answer"):
        if "value" not in raw or raw.get("value") is None or raw.get("value") == "":
            raise ValueError(f"'{decision}' needs the {'edited value' if decision == 'edit' else 'answer'} (value)")
        out["value"] = raw["value"]
    if decision == "label":
        label = raw.get("label", raw.get("value"))
        labels = [str(x) for x in cast("list[Any]", detail.get("labels") or [])]
        if not isinstance(label, str) or not label.strip():
            raise ValueError("'label' needs the label")
        if labels and label not in labels:
            raise ValueError(f"label {label!r} is not one of {', '.join(labels)}")
        out["label"] = label
    return out


def not_decidable(status: str, item_id: str, decided_by: str = "") -> str:
    """Why an item no longer pending (``status``) takes no decision, as every store words it."""
    if status == "timed_out":
        return f"review item {item_id!r} timed out; its run took the timeout path"
    if status == "closed":
        return f"review item {item_id!r} is closed: its run ended without a decision"
    who = f" by {decided_by}" if decided_by else ""
    return f"review item {item_id!r} was already decided ({status}{who})"


def too_late(item_id: str) -> str:
    return f"review item {item_id!r} timed out before this decision; its run took the timeout path"


def decided_label(variant: str, decision: Mapping[str, Any], proposal: Any) -> str | None:
    """The label a decision stores: a label review's label, or the label of the proposal it approves."""
    if decision["decision"] == "approve" and variant == "label":
        return proposal_label(proposal)
    label = decision.get("label")
    return label if isinstance(label, str) else None


def decided_value(detail: Mapping[str, Any], decision: Mapping[str, Any]) -> Any:
    """What continues after a decision that is not a rejection."""
    kind = decision["decision"]
    if kind in ("edit", "answer"):
        return decision["value"]
    if kind == "label":
        return decision["label"]
    return detail.get("proposal")


def proposal_label(proposal: Any) -> str | None:
    """The label a proposal stands for (approving a label review confirms it)."""
    if isinstance(proposal, str):
        return proposal
    if isinstance(proposal, Mapping):
        label = cast("Mapping[str, Any]", proposal).get("label")
        return label if isinstance(label, str) else None
    return None
