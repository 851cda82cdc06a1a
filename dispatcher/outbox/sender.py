"""The sender: claims due deliveries, sends each over SMTP, records the relay's answer.

`run` streams: it claims a few deliveries ahead into a queue from which every SMTP connection
takes its next one as soon as it is free, so no connection waits for the slowest of a batch. It
is woken when deliveries are queued (`outbox.wakeup`, `outbox.watch`) and otherwise looks at
the clock every `IDLE_POLL`. `run_once` sends one claimed batch the same way and returns when
all of it is recorded (tests call it with a frozen clock).
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext, suppress
from datetime import datetime, timedelta
from typing import ParamSpec, TypeVar

import structlog
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from dispatcher.bounces import verp
from dispatcher.clock import Clock
from dispatcher.config import Settings
from dispatcher.outbox import queue, relay, wakeup, watch
from dispatcher.outbox.courier import Courier
from dispatcher.outbox.record import Recorder
from dispatcher.outbox.retry import RetryPolicy
from dispatcher.outbox.smtp import SmtpConnection
from dispatcher.store.db import is_sqlite
from dispatcher.waiting import first_of

log = structlog.get_logger(__name__)

# An idle sender compares the earliest due time it knows with the clock this often, without a
# query; it is what notices a retry fall due on a clock that is not the wall clock (the demo's).
IDLE_POLL = timedelta(seconds=1)
# It reads the queue again at least this often even if nobody woke it: a safety net for a
# notification lost while the LISTEN connection was down, or rows written by hand.
RESCAN = timedelta(seconds=30)
DATABASE_RETRY = timedelta(seconds=2)
# The queue holds at most this many claimed deliveries per SMTP connection, and is filled up
# again when it holds fewer than one per connection: each claim is a commit (on SQLite a flush
# to disk, behind the same lock as the records), so claiming one or two at a time cost as much
# as the records did. A crash leaves those claimed and not started to their claim's expiry.
CLAIM_AHEAD = 4

P = ParamSpec("P")
R = TypeVar("R")


class Sender:
    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        clock: Clock,
        *,
        rng: random.Random | None = None,
        leader: Callable[[], queue.Fence | None] | None = None,
    ) -> None:
        """`leader` tells whether this replica leads (its fence) or not (None); without it the
        sender always sends, as a single daemon or a test does."""
        self._engine = engine
        self._clock = clock
        self._concurrency = settings.send_concurrency
        self._lease = settings.claim_timeout
        self._connections = relay.connections(settings, engine, clock, self._concurrency)
        self.wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._leader = leader
        # SQLite lets one writer in at a time, and a waiting one polls with sleeps of up to
        # 100 ms; the claims and the records queue on a lock instead, woken at once.
        self._writes: AbstractContextManager[object] = (
            threading.Lock() if is_sqlite(engine) else nullcontext()
        )
        self._recorder = Recorder(
            lambda outcomes: self._locked(queue.finish, engine, outcomes),
            parallel=1 if is_sqlite(engine) else self._concurrency,
        )
        self._taken = asyncio.Event()
        self._courier = Courier(
            recorder=self._recorder,
            retry=RetryPolicy(
                initial=settings.retry_initial,
                maximum=settings.retry_max,
                deadline=settings.retry_deadline,
            ),
            rng=rng or random.Random(),
            clock=clock,
            envelope_from=verp.envelope_from(settings),
            retried=self.wake.set,
        )

    def _fence(self) -> tuple[bool, queue.Fence | None]:
        """Whether we may send now, and under which fence."""
        if self._leader is None:
            return True, None
        fence = self._leader()
        return fence is not None, fence

    def _must_stop(self) -> bool:
        return self._stop.is_set() or not self._fence()[0]

    async def _claim(self, fence: queue.Fence | None, limit: int) -> list[queue.Claim]:
        return await asyncio.to_thread(
            self._locked,
            queue.claim_due,
            self._engine,
            now=self._clock.now(),
            limit=limit,
            lease=self._lease,
            fence=fence,
        )

    async def run_once(self, stop: asyncio.Event | None = None) -> int:
        """Claim one batch of due deliveries and send it; return how many were claimed.

        Once `stop` is set, deliveries not yet started are handed back instead of sent."""
        self._stop = stop or asyncio.Event()
        allowed, fence = self._fence()
        if not allowed:
            return 0
        claims = await self._claim(fence, self._concurrency * 4)
        if claims:
            lanes: asyncio.Queue[queue.Claim | None] = asyncio.Queue()
            for claim in (*claims, *[None] * self._concurrency):
                lanes.put_nowait(claim)
            async with asyncio.TaskGroup() as group:
                for connection in self._connections:
                    group.create_task(self._lane(connection, lanes))
        return len(claims)

    async def run(self, stop: asyncio.Event) -> None:
        """Send until `stop`. A database that is away (restarting, failing over) is waited
        for: what was claimed and not recorded is claimed again when its claim expires."""
        self._stop = stop
        loop = asyncio.get_running_loop()

        def wake_from_any_thread() -> None:
            with suppress(RuntimeError):  # the loop has closed: nothing left to wake
                loop.call_soon_threadsafe(self.wake.set)

        unsubscribe = wakeup.subscribe(self._engine, wake_from_any_thread)
        others, listening = watch.sqlite_watch(self._engine), None
        if others is not None:
            listening = asyncio.create_task(watch.follow(others, self.wake.set))
        elif not is_sqlite(self._engine):
            listening = asyncio.create_task(watch.listen(self._engine, self.wake.set))
        try:
            while not stop.is_set():
                try:
                    await self._stream(stop)
                except* SQLAlchemyError as group:
                    log.error("sender.database_unavailable", error=str(group.exceptions[0]))
                    with suppress(TimeoutError):
                        async with asyncio.timeout(DATABASE_RETRY.total_seconds()):
                            await stop.wait()
        finally:
            unsubscribe()
            if listening is not None:
                listening.cancel()
                await asyncio.gather(listening, return_exceptions=True)
            await self.close()

    async def _stream(self, stop: asyncio.Event) -> None:
        """Keep claimed deliveries waiting in the queue (at least one per connection while
        there are due ones, at most `CLAIM_AHEAD` per connection), until `stop` or until we no
        longer lead; then hand back what waits."""
        lanes: asyncio.Queue[queue.Claim | None] = asyncio.Queue()
        async with asyncio.TaskGroup() as group:
            for connection in self._connections:
                group.create_task(self._lane(connection, lanes))
            try:
                await self._feed(lanes, stop)
            finally:
                waiting = _drain(lanes)
                for _ in self._connections:
                    lanes.put_nowait(None)
            if waiting:
                released = await self._hand_back(waiting)
                log.info("sender.handed_back", deliveries=released)

    async def _feed(
        self,
        lanes: asyncio.Queue[queue.Claim | None],
        stop: asyncio.Event,
    ) -> None:
        while not stop.is_set():
            # A wake-up (a foreign commit included) from here on may be rows this claim does
            # not see.
            self.wake.clear()
            allowed, fence = self._fence()
            if not allowed:
                await self._idle(stop, None)
                continue
            if lanes.qsize() >= self._concurrency:
                self._taken.clear()
                await first_of(stop, self._taken)
                continue
            claims = await self._claim(fence, CLAIM_AHEAD * self._concurrency - lanes.qsize())
            for claim in claims:
                lanes.put_nowait(claim)
            if not claims:
                due = await asyncio.to_thread(queue.next_due_at, self._engine)
                await self._idle(stop, due)

    async def _idle(self, stop: asyncio.Event, due: datetime | None) -> None:
        """Wait until there may be work: a wake-up (another process's commit included), `due`
        reached by our clock, or `RESCAN` since we last read the queue."""
        loop = asyncio.get_running_loop()
        until = loop.time() + RESCAN.total_seconds()
        step = IDLE_POLL.total_seconds()
        while not stop.is_set() and loop.time() < until:
            wait = step
            if due is not None:
                wait = min(wait, max((due - self._clock.now()).total_seconds(), 0.0))
            with suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await first_of(stop, self.wake)
                    return
            if due is not None and self._clock.now() >= due:
                return

    async def close(self) -> None:
        await asyncio.gather(*(c.close() for c in self._connections))

    async def _lane(
        self, connection: SmtpConnection, lanes: asyncio.Queue[queue.Claim | None]
    ) -> None:
        """Send the claims this connection takes from `lanes`, one after another, until it
        takes None. An unexpected error with one delivery is logged and leaves its row claimed,
        to be tried again when the claim expires, and the lane goes on; a database error stops
        the lane (and the sender's round), and `run` waits the database out."""
        recording: asyncio.Task[None] | None = None  # the last 250's record, maybe unfinished
        try:
            while (claim := await lanes.get()) is not None:
                self._taken.set()
                if self._must_stop():
                    released = await self._hand_back([claim])
                    log.info("sender.handed_back", deliveries=released)
                    continue
                try:
                    recording = await self._courier.deliver(connection, claim, recording)
                except SQLAlchemyError:
                    raise
                except Exception:
                    await connection.close()
                    log.exception(
                        "delivery.error",
                        delivery_id=claim.delivery_id,
                        retry_after=self._lease.total_seconds(),
                    )
        finally:
            if recording is not None:
                await asyncio.wait([recording])  # never leave a record behind
        if recording is not None:
            recording.result()  # its database error, if it had one

    async def _hand_back(self, claims: list[queue.Claim]) -> int:
        records = (self._recorder.record(queue.handed_back(c)) for c in claims)
        return sum(await asyncio.gather(*records))

    def _locked(self, write: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run one write (in a worker thread), behind this sender's others on SQLite."""
        with self._writes:
            return write(*args, **kwargs)


def _drain(lanes: asyncio.Queue[queue.Claim | None]) -> list[queue.Claim]:
    """Take the claims that wait in `lanes` (there are no end markers yet)."""
    taken = [lanes.get_nowait() for _ in range(lanes.qsize())]
    return [claim for claim in taken if claim is not None]
