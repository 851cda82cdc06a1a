"""The group commit: a record is written at once while there is room, and what arrives while
the writes in flight run goes into the next write together."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime

import pytest

from dispatcher.outbox import queue
from dispatcher.outbox.record import Recorder

NOW = datetime(2026, 12, 31, 2, 0, tzinfo=UTC)


def outcome(number: int) -> queue.Outcome:
    claim = queue.Claim(number, "token", f"r{number}@kommune.example", "", b"", 1, NOW, 1, "x")
    return queue.sent(claim, reply="250 ok", now=NOW)


class Writes:
    """Notes each group; the first write waits until `release` is set."""

    def __init__(self, fail: bool = False) -> None:
        self.groups: list[list[int]] = []
        self.before_release: list[list[int]] = []
        self.release = threading.Event()
        self.fail = fail

    def __call__(self, outcomes: list[queue.Outcome]) -> list[bool]:
        self.groups.append([o.claim.delivery_id for o in outcomes])
        if len(self.groups) == 1:
            self.release.wait(10)
        if self.fail:
            raise RuntimeError("the database went away")
        return [o.claim.delivery_id != 3 for o in outcomes]


async def record_five(recorder: Recorder, writes: Writes) -> list[bool | BaseException]:
    """Record 1 (its write held), then 2–5 at once; then let the first write finish."""
    first = asyncio.create_task(recorder.record(outcome(1)))
    while not writes.groups:
        await asyncio.sleep(0.001)
    rest = [asyncio.create_task(recorder.record(outcome(n))) for n in range(2, 6)]
    await asyncio.sleep(0.2)
    writes.before_release = [list(g) for g in writes.groups]
    writes.release.set()
    return await asyncio.gather(first, *rest, return_exceptions=True)


async def test_one_writer_carries_all_that_waited() -> None:
    writes = Writes()
    recorded = await record_five(Recorder(writes, parallel=1), writes)
    assert writes.before_release == [[1]]  # 2–5 waited for the one writer
    assert writes.groups == [[1], [2, 3, 4, 5]]
    assert recorded == [True, True, False, True, True]  # 3's claim no longer held


async def test_with_room_the_next_records_are_written_beside_the_one_in_flight() -> None:
    writes = Writes()
    recorded = await record_five(Recorder(writes, parallel=2), writes)
    assert writes.before_release == [[1], [2, 3, 4, 5]]  # did not wait for write 1
    assert recorded == [True, True, False, True, True]


async def test_a_failed_write_fails_every_record_in_it() -> None:
    writes = Writes(fail=True)
    recorded = await record_five(Recorder(writes, parallel=1), writes)
    assert all(isinstance(r, RuntimeError) for r in recorded)
    with pytest.raises(RuntimeError):
        await Recorder(writes, parallel=1).record(outcome(6))
