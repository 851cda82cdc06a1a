"""One delivery over one SMTP connection: send it, and record what the relay answered (sent,
failed, or to be retried after a backoff) under its claim."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable

import structlog

from dispatcher.clock import Clock
from dispatcher.outbox import queue
from dispatcher.outbox.record import Recorder
from dispatcher.outbox.retry import RetryPolicy
from dispatcher.outbox.smtp import SendFailure, SmtpConnection

log = structlog.get_logger("dispatcher.outbox.sender")


class Courier:
    def __init__(
        self,
        *,
        recorder: Recorder,
        retry: RetryPolicy,
        rng: random.Random,
        clock: Clock,
        envelope_from: Callable[[int, str], str],
        retried: Callable[[], None],
    ) -> None:
        """`envelope_from(delivery_id, address)` is the MAIL FROM (VERP); `retried` is called
        when a delivery is put back for a later attempt."""
        self._recorder = recorder
        self._retry = retry
        self._rng = rng
        self._clock = clock
        self._envelope_from = envelope_from
        self._retried = retried

    async def deliver(
        self, connection: SmtpConnection, claim: queue.Claim, previous: asyncio.Task[None] | None
    ) -> asyncio.Task[None] | None:
        """Send `claim`; return the task recording its 250, or `previous` if there is none.
        MAIL and RCPT go out while `previous` (this connection's last 250) is being recorded,
        DATA only once it is: at most one message per connection is ever between the relay's
        250 and its record (the duplicate window, docs/delivery-guarantees.md)."""
        bound = log.bind(
            incident_id=claim.incident_id,
            delivery_id=claim.delivery_id,
            notice=claim.notice_kind,
            recipient=claim.recipient,
            attempt=claim.attempts,
        )

        async def recorded() -> None:
            if previous is not None:
                await previous

        try:
            sender = self._envelope_from(claim.delivery_id, claim.envelope_from)
            reply = await connection.send(sender, claim.recipient, claim.raw, recorded)
        except SendFailure as failure:
            await recorded()
            await self._failed(claim, failure, bound)
            return None
        return asyncio.create_task(self._sent(claim, reply, bound))

    async def _sent(
        self, claim: queue.Claim, reply: str, bound: structlog.typing.FilteringBoundLogger
    ) -> None:
        outcome = queue.sent(claim, reply=reply, now=self._clock.now())
        bound.info("delivery.sent", reply=reply, recorded=await self._recorder.record(outcome))

    async def _failed(
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
            await self._recorder.record(queue.failed(claim, reply=reply, now=now))
            bound.error("delivery.failed", reply=reply, permanent=failure.permanent)
            return
        await self._recorder.record(queue.retry(claim, reply=failure.reply, at=retry_at))
        self._retried()  # the sender, if idle, must learn the new due time
        bound.warning("delivery.retry", reply=failure.reply, retry_at=retry_at.isoformat())
