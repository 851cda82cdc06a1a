"""Group commit of delivery outcomes: each sender lane waits for its own record, and all the
records that arrive while one commit runs go into the next commit together.

No record is held back to make a group: the first one is written at once, and whatever finished
during that write (a few milliseconds under load) is written by the next. A lane starts its next
SMTP transaction only once its record has committed, so at most one delivery per SMTP
connection is ever between the relay's 250 and its recorded `sent` (the duplicate window,
docs/delivery-guarantees.md)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from dispatcher.outbox import queue


class Recorder:
    def __init__(self, write: Callable[[list[queue.Outcome]], list[bool]]) -> None:
        """`write` records a group in one transaction (in a worker thread) and tells, per
        outcome, whether its claim still held."""
        self._write = write
        self._waiting: list[tuple[queue.Outcome, asyncio.Future[bool]]] = []
        self._writing: asyncio.Task[None] | None = None

    async def record(self, outcome: queue.Outcome) -> bool:
        """Write `outcome` (with whatever else is waiting); True once committed under its
        claim, False if another sender had taken the row over. A database error is raised
        to every lane whose record was in the failed group."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.append((outcome, future))
        if self._writing is None:
            self._writing = asyncio.create_task(self._drain(), name="outbox-record")
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
            for _, future in (*group, *self._waiting):
                future.cancel()  # only those still waiting: the loop is being torn down
            self._waiting = []
            self._writing = None
