"""A breaker opened by one process half-opens in a later one once ``reset_timeout`` has
passed on the wall clock, whatever the two processes' monotonic clocks say."""

from __future__ import annotations

import pytest

import graphflow
from graphflow.clock import FakeClock
from graphflow.policies import BreakerPolicy
from graphflow.service import Workspace
from graphflow.storage import open_store

pytestmark = pytest.mark.anyio
POLICY = BreakerPolicy(name="crm-api", failure_threshold=1, reset_timeout=30)


async def open_breaker(path, clock: FakeClock) -> None:
    async with open_store(path) as store:
        ws = Workspace(store, graphflow.default_registry(), clock=clock)
        await ws.load_breakers()
        ws.breakers.get(POLICY).acquire().failure()
        assert ws.breaker_states() == {"crm-api": "open"}
        await ws.save_breakers()


async def state_later(path, clock: FakeClock) -> str:
    async with open_store(path) as store:
        ws = Workspace(store, graphflow.default_registry(), clock=clock)
        await ws.load_breakers()
        return str(ws.breakers.get(POLICY).state)


async def test_a_breaker_opened_in_one_process_half_opens_in_a_later_one(tmp_path):
    path = tmp_path / "g.db"
    await open_breaker(path, FakeClock(start=500.0, wall_start=1_700_000_000.0))
    # a later process: another monotonic origin; 31 s later on the wall clock
    assert await state_later(path, FakeClock(start=3.0, wall_start=1_700_000_031.0)) == "half_open"


async def test_it_stays_open_until_the_reset_timeout_has_passed(tmp_path):
    path = tmp_path / "g.db"
    await open_breaker(path, FakeClock(start=500.0, wall_start=1_700_000_000.0))
    assert await state_later(path, FakeClock(start=3.0, wall_start=1_700_000_020.0)) == "open"
    # a wall clock set back never makes it open for longer than it was when saved plus the wait
    assert await state_later(path, FakeClock(start=3.0, wall_start=1_699_000_000.0)) == "open"
