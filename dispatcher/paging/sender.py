"""The SMS sender: claims due `sms` deliveries, hands each to the gateway, records the answer.

The same discipline as the mail sender (`outbox.sender`): a claim is committed before the
request and the outcome after the answer, under the leader's fence, so a crash leaves a row
`pending` (never sent) or `sending` (maybe sent; claimed again when the claim expires — the one
window for a duplicate). A timeout, a lost connection or a 5xx is tried again on the outbox's
stored schedule (`RetryPolicy`); a 429 waits as long as the gateway says (Retry-After), and the
sender sends nothing else until then; any other 4xx is final, and a failed page is put on the
incident's timeline and the other on-call staff are told (`paging.failures`).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from contextlib import suppress
from datetime import datetime, timedelta

import structlog
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from dispatcher.clock import Clock
from dispatcher.config import Settings
from dispatcher.contacts.model import Channel
from dispatcher.incidents.service import Dispatch
from dispatcher.outbox import queue
from dispatcher.outbox.retry import RetryPolicy
from dispatcher.paging import failures
from dispatcher.paging.gateway import GatewayFailure, OutgoingSms, SmsGateway
from dispatcher.paging.sms_text import encoding_of
from dispatcher.waiting import first_of

log = structlog.get_logger(__name__)

IDLE_POLL = timedelta(seconds=1)
DATABASE_RETRY = timedelta(seconds=2)


class SmsSender:
    def __init__(
        self,
        dispatch: Dispatch,
        settings: Settings,
        clock: Clock,
        gateway: SmsGateway,
        *,
        rng: random.Random | None = None,
        leader: Callable[[], queue.Fence | None] | None = None,
    ) -> None:
        """`leader` tells whether this replica leads (its fence) or not (None); without it the
        sender always sends, as a single daemon or a test does."""
        self._dispatch = dispatch
        self._engine: Engine = dispatch.engine
        self._clock = clock
        self._gateway = gateway
        self._rng = rng or random.Random()
        self._lanes = settings.send_concurrency
        self._lease = settings.claim_timeout
        self._retry = RetryPolicy(
            initial=settings.retry_initial,
            maximum=settings.retry_max,
            deadline=settings.retry_deadline,
        )
        self._leader = leader
        self._paused_until: datetime | None = None
        self._stop = asyncio.Event()
        self.wake = asyncio.Event()

    def _fence(self) -> tuple[bool, queue.Fence | None]:
        if self._leader is None:
            return True, None
        fence = self._leader()
        return fence is not None, fence

    async def run_once(self, stop: asyncio.Event | None = None) -> int:
        """Claim one batch of due SMS and send it; return how many were claimed. Once `stop` is
        set, SMS not yet started are handed back instead of sent."""
        self._stop = stop or asyncio.Event()
        allowed, fence = self._fence()
        now = self._clock.now()
        if not allowed or (self._paused_until is not None and now < self._paused_until):
            return 0
        claims = await asyncio.to_thread(
            queue.claim_due,
            self._engine,
            now=now,
            limit=self._lanes * 4,
            lease=self._lease,
            fence=fence,
            channel=Channel.SMS,
        )
        async with asyncio.TaskGroup() as group:
            for lane in (claims[i :: self._lanes] for i in range(self._lanes)):
                if lane:
                    group.create_task(self._send_lane(lane))
        return len(claims)

    async def run(self, stop: asyncio.Event) -> None:
        """Send until `stop`; a database that is away is waited for."""
        try:
            while not stop.is_set():
                self.wake.clear()  # before looking: a page queued meanwhile wakes the wait
                try:
                    if await self.run_once(stop):
                        continue
                    idle = await self._idle_seconds()
                except* SQLAlchemyError as group:
                    log.error("sms.database_unavailable", error=str(group.exceptions[0]))
                    idle = DATABASE_RETRY.total_seconds()
                with suppress(TimeoutError):
                    async with asyncio.timeout(idle):
                        await first_of(stop, self.wake)
        finally:
            await self._gateway.close()

    async def _idle_seconds(self) -> float:
        due = await asyncio.to_thread(queue.next_due_at, self._engine, Channel.SMS)
        if self._paused_until is not None:
            due = max(due, self._paused_until) if due is not None else self._paused_until
        idle = IDLE_POLL.total_seconds()
        if due is not None:
            idle = min(idle, max((due - self._clock.now()).total_seconds(), 0.0))
        return idle

    async def _send_lane(self, claims: list[queue.Claim]) -> None:
        for index, claim in enumerate(claims):
            if self._stop.is_set() or not self._fence()[0]:
                await asyncio.to_thread(queue.release, self._engine, claims[index:])
                return
            paused = self._paused_until
            if paused is not None and self._clock.now() < paused:
                await asyncio.to_thread(
                    queue.mark_retry, self._engine, claim, reply="rate limited", at=paused
                )
                continue
            try:
                await self._deliver(claim)
            except SQLAlchemyError:
                raise
            except Exception:
                log.exception("sms.error", delivery_id=claim.delivery_id)

    async def _deliver(self, claim: queue.Claim) -> None:
        bound = log.bind(
            incident_id=claim.incident_id,
            delivery_id=claim.delivery_id,
            notice=claim.notice_kind,
            attempt=claim.attempts,
        )
        text = claim.raw.decode("utf-8")
        sms = OutgoingSms(str(claim.delivery_id), claim.recipient, text, encoding_of(text))
        try:
            accepted = await self._gateway.send(sms)
        except GatewayFailure as failure:
            await self._record_failure(claim, failure, bound)
            return
        recorded = await asyncio.to_thread(
            queue.mark_sent, self._engine, claim, reply=accepted.reply, now=self._clock.now()
        )
        bound.info("sms.sent", reply=accepted.reply, recorded=recorded)

    async def _record_failure(
        self,
        claim: queue.Claim,
        failure: GatewayFailure,
        bound: structlog.typing.FilteringBoundLogger,
    ) -> None:
        now = self._clock.now()
        retry_at = None
        if failure.retry_after is not None:
            self._paused_until = now + failure.retry_after
            if self._paused_until <= claim.enqueued_at + self._retry.deadline:
                retry_at = self._paused_until
        elif not failure.permanent:
            retry_at = self._retry.next_attempt(
                attempts=claim.attempts, enqueued_at=claim.enqueued_at, now=now, rng=self._rng
            )
        if retry_at is not None:
            await asyncio.to_thread(
                queue.mark_retry, self._engine, claim, reply=failure.reply, at=retry_at
            )
            bound.warning("sms.retry", reply=failure.reply, retry_at=retry_at.isoformat())
            return
        reply = failure.reply if failure.permanent else f"gave up: {failure.reply}"
        if await asyncio.to_thread(queue.mark_failed, self._engine, claim, reply=reply, now=now):
            await asyncio.to_thread(
                failures.delivery_failed, self._dispatch, claim.delivery_id, reply, now
            )
        bound.error("sms.failed", reply=reply, permanent=failure.permanent)
