"""The sender: claims due deliveries, sends each over SMTP, records the relay's answer.

`run_once` is one step (tests call it with a frozen clock); `run` loops until told to stop.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext, suppress
from datetime import timedelta
from typing import ParamSpec, TypeVar

import structlog
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from dispatcher.bounces import verp
from dispatcher.clock import Clock
from dispatcher.config import Settings
from dispatcher.outbox import queue
from dispatcher.outbox.retry import RetryPolicy
from dispatcher.outbox.smtp import SendFailure, SmtpConnection
from dispatcher.store.db import is_sqlite
from dispatcher.waiting import first_of

log = structlog.get_logger(__name__)

IDLE_POLL = timedelta(seconds=1)
DATABASE_RETRY = timedelta(seconds=2)

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
        self._rng = rng or random.Random()
        self._concurrency = settings.send_concurrency
        self._lease = settings.claim_timeout
        self._retry = RetryPolicy(
            initial=settings.retry_initial,
            maximum=settings.retry_max,
            deadline=settings.retry_deadline,
        )
        self._connections = [SmtpConnection(settings) for _ in range(self._concurrency)]
        self._envelope_from = verp.envelope_from(settings)
        self.wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._leader = leader
        # SQLite lets one writer in at a time, and a waiting one polls with sleeps of up to
        # 100 ms; the lanes queue for their records on a lock instead, woken at once.
        self._writes: AbstractContextManager[object] = (
            threading.Lock() if is_sqlite(engine) else nullcontext()
        )

    def _fence(self) -> tuple[bool, queue.Fence | None]:
        """Whether we may send now, and under which fence."""
        if self._leader is None:
            return True, None
        fence = self._leader()
        return fence is not None, fence

    def _must_stop(self) -> bool:
        return self._stop.is_set() or not self._fence()[0]

    async def run_once(self, stop: asyncio.Event | None = None) -> int:
        """Claim one batch of due deliveries and send it; return how many were claimed.

        Once `stop` is set, deliveries not yet started are handed back instead of sent."""
        self._stop = stop or asyncio.Event()
        allowed, fence = self._fence()
        if not allowed:
            return 0
        claims = await asyncio.to_thread(
            queue.claim_due,
            self._engine,
            now=self._clock.now(),
            limit=self._concurrency * 4,
            lease=self._lease,
            fence=fence,
        )
        if claims:
            lanes = [claims[i :: self._concurrency] for i in range(self._concurrency)]
            async with asyncio.TaskGroup() as group:
                for connection, lane in zip(self._connections, lanes, strict=True):
                    if lane:
                        group.create_task(self._send_lane(connection, lane))
        return len(claims)

    async def run(self, stop: asyncio.Event) -> None:
        """Send until `stop`. A database that is away (restarting, failing over) is waited
        for: what was claimed and not recorded is claimed again when its claim expires."""
        try:
            while not stop.is_set():
                try:
                    if await self.run_once(stop):
                        continue
                    idle = await self._idle_seconds()
                except* SQLAlchemyError as group:
                    log.error("sender.database_unavailable", error=str(group.exceptions[0]))
                    idle = DATABASE_RETRY.total_seconds()
                self.wake.clear()
                with suppress(TimeoutError):
                    async with asyncio.timeout(idle):
                        await first_of(stop, self.wake)
        finally:
            await self.close()

    async def close(self) -> None:
        for connection in self._connections:
            await connection.close()

    async def _idle_seconds(self) -> float:
        due = await asyncio.to_thread(queue.next_due_at, self._engine)
        idle = IDLE_POLL.total_seconds()
        if due is not None:
            idle = min(idle, max((due - self._clock.now()).total_seconds(), 0.0))
        return idle

    async def _send_lane(self, connection: SmtpConnection, claims: list[queue.Claim]) -> None:
        """Send `claims` one after another. An unexpected error with one delivery is logged and
        leaves its row claimed, to be tried again when the claim expires, and the lane goes on; a
        database error stops the batch, and `run` waits the database out."""
        for index, claim in enumerate(claims):
            if self._must_stop():
                left = claims[index:]
                released = await self._record(queue.release, self._engine, left)
                log.info("sender.handed_back", deliveries=released)
                return
            try:
                await self._deliver(connection, claim)
            except SQLAlchemyError:
                raise
            except Exception:
                await connection.close()
                log.exception(
                    "delivery.error",
                    delivery_id=claim.delivery_id,
                    retry_after=self._lease.total_seconds(),
                )

    async def _record(self, write: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run one outcome's write in a worker thread, queued behind this sender's other writes
        on SQLite."""

        def locked() -> R:
            with self._writes:
                return write(*args, **kwargs)

        return await asyncio.to_thread(locked)

    async def _deliver(self, connection: SmtpConnection, claim: queue.Claim) -> None:
        bound = log.bind(
            incident_id=claim.incident_id,
            delivery_id=claim.delivery_id,
            notice=claim.notice_kind,
            recipient=claim.recipient,
            attempt=claim.attempts,
        )
        try:
            sender = self._envelope_from(claim.delivery_id, claim.envelope_from)
            reply = await connection.send(sender, claim.recipient, claim.raw)
        except SendFailure as failure:
            await self._record_failure(claim, failure, bound)
            return
        recorded = await self._record(
            queue.mark_sent, self._engine, claim, reply=reply, now=self._clock.now()
        )
        bound.info("delivery.sent", reply=reply, recorded=recorded)

    async def _record_failure(
        self, claim: queue.Claim, failure: SendFailure, bound: structlog.typing.FilteringBoundLogger
    ) -> None:
        now = self._clock.now()
        retry_at = None
        if not failure.permanent:
            retry_at = self._retry.next_attempt(
                attempts=claim.attempts, enqueued_at=claim.enqueued_at, now=now, rng=self._rng
            )
        if retry_at is None:
            reply = failure.reply if failure.permanent else f"gave up: {failure.reply}"
            await self._record(queue.mark_failed, self._engine, claim, reply=reply, now=now)
            bound.error("delivery.failed", reply=reply, permanent=failure.permanent)
            return
        await self._record(queue.mark_retry, self._engine, claim, reply=failure.reply, at=retry_at)
        bound.warning("delivery.retry", reply=failure.reply, retry_at=retry_at.isoformat())
