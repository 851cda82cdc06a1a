"""The mail relay's health as the sender finds it, stored in the `relay` row so that the CLI,
`/readyz`, the metrics and the cadence (which tells the owner) all see it.

A relay fails when an attempt fails in a way that retrying may fix: no connection, a timeout,
a 4xx, a rejected login (`SendFailure.permanent` is False). Any accepted message, and any 5xx
about one recipient (the relay answered), clears it. The sender writes when the state
changes and records the newest failing reply; it does not write for every success. The
sender's connections report each answer (`WatchedConnection`); the writes queue for SQLite's
write lock like any other (its busy timeout), outside the sender's own record queue.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, func, select, update
from sqlmodel import col

from dispatcher.clock import Clock
from dispatcher.config import Settings
from dispatcher.outbox.smtp import SendFailure, SmtpConnection
from dispatcher.store.db import transaction
from dispatcher.store.tables import DeliveryRow, DeliveryStatus, RelayRow

RELAY = "smtp"


@dataclass(frozen=True)
class RelayHealth:
    failing_since: datetime | None
    last_error: str
    waiting: int  # deliveries pending or being sent, all incidents

    @property
    def failing(self) -> bool:
        return self.failing_since is not None

    def as_json(self) -> dict[str, object]:
        if self.failing_since is None:
            return {"ok": True, "waiting": self.waiting}
        return {
            "ok": False,
            "failing_since": self.failing_since.isoformat(),
            "last_reply": self.last_error,
            "waiting": self.waiting,
        }


def record_failure(engine: Engine, reply: str, now: datetime) -> None:
    """The relay failed just now with `reply`; it has failed since the first such failure."""
    with transaction(engine) as session:
        session.execute(
            update(RelayRow)
            .where(col(RelayRow.name) == RELAY)
            .values(
                failing_since=func.coalesce(col(RelayRow.failing_since), now),
                last_error=reply,
            )
        )


def record_success(engine: Engine, now: datetime) -> None:
    with transaction(engine) as session:
        session.execute(
            update(RelayRow)
            .where(col(RelayRow.name) == RELAY)
            .values(failing_since=None, last_ok_at=now)
        )


def read(conn: Connection) -> RelayHealth:
    """The relay's state and the deliveries waiting, on an open connection."""
    row = conn.execute(
        select(col(RelayRow.failing_since), col(RelayRow.last_error)).where(
            col(RelayRow.name) == RELAY
        )
    ).first()
    waiting = conn.execute(
        select(func.count())
        .select_from(DeliveryRow)
        .where(col(DeliveryRow.status).in_([DeliveryStatus.PENDING, DeliveryStatus.SENDING]))
    ).scalar_one()
    if row is None:
        return RelayHealth(None, "", waiting)
    return RelayHealth(row[0], row[1] or "", waiting)


def health(engine: Engine) -> RelayHealth:
    with transaction(engine) as session:
        return read(session.connection())


class RelayWatch:
    """The sender's view: writes a success only when the relay was (or may have been) failing,
    and every failure (they are spaced by the retry backoff)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._failing: bool | None = None  # unknown until the first outcome

    @property
    def unsure(self) -> bool:
        """Whether a success is news: the relay was failing, or we do not know yet."""
        return self._failing is not False

    def succeeded(self, now: datetime) -> None:
        if self.unsure:
            record_success(self._engine, now)
            self._failing = False

    def failed(self, reply: str, now: datetime) -> None:
        record_failure(self._engine, reply, now)
        self._failing = True


class WatchedConnection(SmtpConnection):
    """An SMTP connection that tells its `RelayWatch` how the relay answered each send."""

    def __init__(self, settings: Settings, watch: RelayWatch, clock: Clock) -> None:
        super().__init__(settings)
        self._watch = watch
        self._clock = clock

    async def send(
        self,
        envelope_from: str,
        recipient: str,
        raw: bytes,
        ready: Callable[[], Awaitable[object]] | None = None,
    ) -> str:
        try:
            reply = await super().send(envelope_from, recipient, raw, ready)
        except SendFailure as failure:
            if failure.permanent:  # the relay answered about this recipient: it works
                await asyncio.to_thread(self._watch.succeeded, self._clock.now())
            else:
                await asyncio.to_thread(self._watch.failed, failure.reply, self._clock.now())
            raise
        if self._watch.unsure:  # else nothing to write: no thread, no wait after the 250
            await asyncio.to_thread(self._watch.succeeded, self._clock.now())
        return reply


def connections(
    settings: Settings, engine: Engine, clock: Clock, count: int
) -> list[SmtpConnection]:
    """The sender's `count` SMTP connections, all watched by one `RelayWatch`."""
    watch = RelayWatch(engine)
    return [WatchedConnection(settings, watch, clock) for _ in range(count)]
