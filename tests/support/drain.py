"""Run the sender until nothing is due, moving the fake clock over retry waits."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from dispatcher.outbox import queue
from dispatcher.outbox.sender import Sender
from tests.support.clock import FakeClock


async def drain(sender: Sender, engine: Engine, clock: FakeClock, *, max_rounds: int = 500) -> None:
    for _ in range(max_rounds):
        if await sender.run_once():
            continue
        due = queue.next_due_at(engine)
        if due is None:
            return
        clock.set(max(clock.now(), due) + timedelta(seconds=1))
    raise AssertionError(f"outbox not drained after {max_rounds} rounds")
