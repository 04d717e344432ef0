"""graphflow.mailbox.task_after: a task beside a block, started only after a delay."""

from __future__ import annotations

import anyio
import anyio.lowlevel
import pytest

from graphflow.mailbox import task_after

pytestmark = pytest.mark.anyio


async def test_a_block_shorter_than_the_delay_starts_no_task():
    started: list[str] = []

    async def beside() -> None:
        started.append("yes")

    async with task_after(0.05, beside):
        await anyio.lowlevel.checkpoint()
    await anyio.sleep(0.1)  # the timer was cancelled with the block
    assert started == []


async def test_a_longer_block_has_the_task_beside_it_and_ends_it():
    ticks: list[int] = []
    ended = anyio.Event()

    async def beside() -> None:
        try:
            while True:
                ticks.append(1)
                await anyio.sleep(0.01)
        finally:
            ended.set()

    async with task_after(0.01, beside):
        await anyio.sleep(0.1)
    assert ticks and ended.is_set()  # started while the block went on, stopped when it ended
    count = len(ticks)
    await anyio.sleep(0.05)
    assert len(ticks) == count


async def test_an_error_of_the_task_is_raised_when_the_block_ends():
    async def beside() -> None:
        raise RuntimeError("heartbeat broke")

    with pytest.raises(RuntimeError, match="heartbeat broke"):
        async with task_after(0, beside):
            await anyio.sleep(0.05)
