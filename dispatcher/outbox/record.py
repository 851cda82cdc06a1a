"""Group commit of delivery outcomes: each sender lane waits for its own record, and the
records that arrive while the writes in flight run go into the next write together.

No record is held back to make a group: a record is written at once while fewer than
`parallel` writes are in flight, and whatever finished meanwhile is written by the next. SQLite
takes one writer at a time, so there `parallel` is 1 and every commit carries all that is
ready; PostgreSQL flushes concurrent commits together by itself, so there each connection's
record may be written at once beside the others' (`parallel` = the number of connections),
and groups form only when the database falls behind. A lane starts its next
SMTP transaction only once its record has committed, so at most one delivery per SMTP
connection is ever between the relay's 250 and its recorded `sent` (the duplicate window,
docs/delivery-guarantees.md)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from dispatcher.outbox import queue


class Recorder:
    def __init__(self, write: Callable[[list[queue.Outcome]], list[bool]], parallel: int) -> None:
        """`write` records a group in one transaction (in a worker thread) and tells, per
        outcome, whether its claim still held; at most `parallel` writes run at once."""
        self._write = write
        self._parallel = parallel
        self._waiting: list[tuple[queue.Outcome, asyncio.Future[bool]]] = []
        self._writers: set[asyncio.Task[None]] = set()

    async def record(self, outcome: queue.Outcome) -> bool:
        """Write `outcome` (with whatever else is waiting); True once committed under its
        claim, False if another sender had taken the row over. A database error is raised
        to every lane whose record was in the failed group."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.append((outcome, future))
        if len(self._writers) < self._parallel:
            writer = asyncio.create_task(self._drain(), name="outbox-record")
            self._writers.add(writer)
        return await future

    async def _drain(self) -> None:
        group: list[tuple[queue.Outcome, asyncio.Future[bool]]] = []
        try:
            while self._waiting:
                group, self._waiting = self._waiting, []
                try:
                    recorded = await asyncio.to_thread(self._write, [o for o, _ in group])
                except Exception as exc:  # handed to the lanes that wait for it
                    for _, future in group:
                        if not future.done():  # a lane cancelled meanwhile cancelled its own
                            future.set_exception(exc)
                    continue
                for (_, future), result in zip(group, recorded, strict=True):
                    if not future.done():
                        future.set_result(result)
        finally:
            # At once, not in a done-callback: a record arriving next must see the room.
            self._writers.discard(asyncio.current_task())
            for _, future in group:
                future.cancel()  # only if still waiting: the loop is being torn down
