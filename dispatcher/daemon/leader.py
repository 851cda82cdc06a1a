"""The leadership loop of one replica: take the lease when it is free, renew it, and stop
leading at the first sign of trouble."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import suppress
from datetime import timedelta
from functools import partial

import structlog
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from dispatcher.clock import Clock, steady
from dispatcher.daemon import leadership
from dispatcher.outbox import queue

log = structlog.get_logger(__name__)


class Leader:
    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        replica: str,
        *,
        claim_grace: timedelta,
        on_promotion: Callable[[], None],
        steady_clock: Callable[[], float] = steady,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self.replica = replica
        self._claim_grace = claim_grace
        self._on_promotion = on_promotion
        self._steady = steady_clock
        self.lease: leadership.Lease | None = None

    def fence(self) -> queue.Fence | None:
        """Our fence while we surely lead; None otherwise (then nothing may be sent). Timed on
        the steady clock: moving the wall clock (or the injected one) does not depose us."""
        lease = self.lease
        if lease is None or not lease.valid(self._steady()):
            return None
        return queue.Fence(lease.replica, lease.epoch)

    @property
    def leading(self) -> bool:
        return self.fence() is not None

    async def run(self, stop: asyncio.Event) -> None:
        try:
            while not stop.is_set():
                await self.step()
                with suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), leadership.RENEW.total_seconds())
        finally:
            if self.lease is not None:
                with suppress(SQLAlchemyError):
                    await asyncio.to_thread(leadership.resign, self._engine, self.lease)
                log.info("leadership.resigned", replica=self.replica, epoch=self.lease.epoch)
                self.lease = None

    async def step(self) -> None:
        """One round: renew if we lead, else try to take the lease."""
        now, began = self._clock.now(), self._steady()
        try:
            if self.lease is not None:
                lapsed = not self.lease.valid(began)
                self.lease = await asyncio.to_thread(
                    partial(leadership.renew, began=began), self._engine, self.lease, now
                )
                if self.lease is None:
                    log.error("leadership.lost", replica=self.replica)
                elif lapsed:
                    # We stood aside (the loop was blocked past our own view of the lease) and
                    # nobody took over: what fell due meanwhile was skipped, so catch up now.
                    log.warning("leadership.resumed", replica=self.replica, epoch=self.lease.epoch)
                    self._on_promotion()
                return
            self.lease = await asyncio.to_thread(
                partial(leadership.acquire, began=began), self._engine, self.replica, now
            )
        except SQLAlchemyError as exc:
            if self.lease is not None:
                log.error("leadership.lost", replica=self.replica, error=str(exc))
            self.lease = None
            return
        if self.lease is not None:
            until = now + self._claim_grace
            taken = await asyncio.to_thread(
                queue.shorten_foreign_claims, self._engine, self.replica, until=until
            )
            log.info(
                "leadership.acquired",
                replica=self.replica,
                epoch=self.lease.epoch,
                foreign_claims=taken,
            )
            self._on_promotion()
