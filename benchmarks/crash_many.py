"""Kill a durable 56-node run with SIGKILL at hundreds of points and check every recovery.

    python benchmarks/crash_many.py --points 300

The test suite does 30 points (tests/storage/test_crash_resume.py); this script reuses
its worker and checks, spreads the kill delays over the whole run, and prints how many
nodes had already succeeded at each kill.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "storage"))

from test_crash_resume import NODES, check, recover, snapshot, start_and_kill  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--points", type=int, default=300)
    parser.add_argument("--max-delay", type=float, default=0.25, help="seconds after the run starts")
    args = parser.parse_args()
    failures = 0
    progress: list[int] = []
    for point in range(args.points):
        with tempfile.TemporaryDirectory() as tmp:
            db, effects = Path(tmp) / "runs.db", Path(tmp) / "effects.db"
            start_and_kill(db, effects, delay=args.max_delay * point / max(1, args.points - 1))
            succeeded, calls = snapshot(db, effects)
            progress.append(len(succeeded))
            try:
                recover(db, effects)
                check(db, effects, succeeded, calls)
            except AssertionError as exc:
                failures += 1
                print(f"point {point}: {exc}")  # noqa: T201
    killed_mid = sum(1 for n in progress if 0 < n < NODES)
    print(f"{args.points} kills, {failures} failed checks; killed mid-run (1..{NODES - 1} of {NODES} nodes done): "  # noqa: T201
          f"{killed_mid}; nodes done at kill: min {min(progress)}, max {max(progress)}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
