"""Join bookkeeping, incremental so a join of a thousand branches stays linear.

A branch is the node whose edges enter the join. It settles once: live (its first live
edge's value), error, or dead when all its edges resolved without a value. ``decide``
is pure: it returns the join's verdict, or ``None`` while it must keep waiting.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphflow.nodes.join import JoinConfig

LIVE, DEAD, ERROR = "live", "dead", "error"


@dataclass(frozen=True, slots=True)
class JoinFailure:
    type: str
    message: str


@dataclass(frozen=True, slots=True)
class Verdict:
    kind: str
    """ok, fail or skip."""
    payload: Any = None


class JoinTracker:
    def __init__(self, cfg: JoinConfig, branches: tuple[str, ...], edges_per_branch: dict[str, int]) -> None:
        self.cfg = cfg
        self.branches = branches
        self.left = dict(edges_per_branch)
        self.status: dict[str, str] = {}
        self.values: dict[str, Any] = {}
        self.errors: dict[str, Any] = {}
        """Branch -> the error (anything with ``type``, ``message`` and ``node_id``)."""
        self.arrivals: list[str] = []
        self.pending = len(branches)
        self.cursor = 0
        """Sequential fallback: the branch being tried."""
        self.at_end = cfg.strategy in ("all", "best_effort")
        """Its verdict waits for every branch unless one fails."""

    def resolve(self, branch: str, status: str, value: Any) -> bool:
        """Count one of the branch's edges in. Returns whether ``decide`` may now have a verdict
        (False: it would return None, as a join of all does while branches are pending and none
        failed; checked here because a fan-in asks once per branch)."""
        self.left[branch] -= 1
        if branch in self.status:
            return True
        if status == LIVE:
            self.status[branch], self.values[branch] = LIVE, value
            self.arrivals.append(branch)
            self.pending -= 1
            return not (self.pending and self.at_end and not self.errors)
        if status == ERROR:
            self.errors.setdefault(branch, value)
        if self.left[branch] == 0:
            self.status[branch] = ERROR if branch in self.errors else DEAD
            self.pending -= 1
        return True

    def _results(self) -> dict[str, Any]:
        return {b: self.values[b] for b in self.branches if b in self.values}

    def _error_texts(self) -> dict[str, str]:
        return {b: f"{e.type}: {e.message}" for b, e in self.errors.items() if self.status.get(b) == ERROR}

    def _all_failed(self) -> Verdict:
        errors = self._error_texts()
        if not errors:
            return Verdict("skip")
        return Verdict("fail", JoinFailure("AllBranchesFailed", "; ".join(f"{b}: {m}" for b, m in errors.items())))

    def decide(self) -> Verdict | None:
        cfg, live = self.cfg, len(self.arrivals)
        if cfg.strategy == "all":
            failed = [b for b in self.errors if self.status.get(b) == ERROR] if self.errors else None
            if failed:
                first = self.errors[failed[0]]
                return Verdict("fail", JoinFailure("BranchFailed", f"branch {first.node_id!r} failed: {first.message}"))
            if self.pending:
                return None
            return Verdict("ok", self._results()) if live else Verdict("skip")
        if cfg.strategy == "best_effort":
            if self.pending:
                return None
            lost = [b for b in cfg.required if b not in self.values]
            if lost:
                why = self._error_texts().get(lost[0], "produced no result")
                return Verdict("fail", JoinFailure("RequiredBranchFailed", f"required branch {lost[0]!r}: {why}"))
            if not live:
                return self._all_failed()
            errors = self._error_texts()
            return Verdict("ok", {"results": self._results(), "errors": errors, "partial": bool(errors)})
        if cfg.strategy == "quorum":
            need = cfg.quorum or 1
            if live >= need:
                return Verdict("ok", {"results": self._results(), "errors": self._error_texts()})
            if live + self.pending < need:
                lost = len(self.branches) - live - self.pending
                msg = f"quorum of {need} not reachable: {live} succeeded, {lost} failed or skipped"
                return Verdict("fail", JoinFailure("QuorumNotReached", msg))
            return None
        return self._first_success()

    def _first_success(self) -> Verdict | None:
        if self.cfg.mode == "race":
            if self.arrivals:
                winner = self.arrivals[0]
                return Verdict("ok", {"source": winner, "value": self.values[winner]})
            return None if self.pending else self._all_failed()
        while self.cursor < len(self.branches):
            branch = self.branches[self.cursor]
            status = self.status.get(branch)
            if status == LIVE:
                return Verdict("ok", {"source": branch, "value": self.values[branch]})
            if status is None:
                return None  # the caller opens the gate up to ``cursor``
            self.cursor += 1
        return self._all_failed()
