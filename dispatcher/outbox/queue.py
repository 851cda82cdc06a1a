"""The delivery rows as a queue: claim due rows, then record each outcome under the claim token.

A claim is committed before the SMTP transaction starts, and the outcome after it ends, so a
crash leaves a row `pending` (never sent) or `sending` (maybe sent). A `sending` row whose claim
has expired is claimed again; that retry is the one window in which a recipient can get a
notice twice (see docs/delivery-guarantees.md).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, and_, func, or_, select, update
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col

from dispatcher.store.db import is_sqlite, transaction
from dispatcher.store.tables import (
    LEADER_LEASE,
    DeliveryRow,
    DeliveryStatus,
    LeaderLeaseRow,
    MessageRow,
    NoticeRow,
)


@dataclass(frozen=True)
class Claim:
    delivery_id: int
    token: str
    recipient: str
    envelope_from: str
    raw: bytes
    attempts: int
    enqueued_at: datetime
    incident_id: int
    notice_kind: str


def _due(now: datetime) -> ColumnElement[bool]:
    return or_(
        and_(
            col(DeliveryRow.status) == DeliveryStatus.PENDING,
            col(DeliveryRow.next_attempt_at) <= now,
        ),
        and_(
            col(DeliveryRow.status) == DeliveryStatus.SENDING,
            col(DeliveryRow.claimed_until) < now,
        ),
    )


@dataclass(frozen=True)
class Fence:
    """Claim only while `replica` holds the leader lease of `epoch`."""

    replica: str
    epoch: int


def claim_due(
    engine: Engine,
    *,
    now: datetime,
    limit: int,
    lease: timedelta,
    fence: Fence | None = None,
    channel: str = "email",
) -> list[Claim]:
    """Claim up to `limit` due deliveries of `channel`, oldest first. Rows another process holds
    are skipped; with a `fence`, nothing is claimed unless that lease still holds in the same
    transaction."""
    token = str(uuid.uuid4())
    with transaction(engine) as session:
        if fence is not None and not _holds(session, fence):
            return []
        ids = list(
            session.scalars(
                select(col(DeliveryRow.id))
                .where(_due(now), col(DeliveryRow.channel) == channel)
                .order_by(col(DeliveryRow.id))
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        if not ids:
            return []
        session.execute(
            update(DeliveryRow)
            .where(col(DeliveryRow.id).in_(ids))
            .values(
                status=DeliveryStatus.SENDING,
                claim_token=token,
                claimed_until=now + lease,
                claimed_by=fence.replica if fence else None,
                attempts=DeliveryRow.attempts + 1,
            )
        )
        rows = session.execute(
            select(DeliveryRow, col(MessageRow.envelope_from), col(MessageRow.raw), NoticeRow)
            .join(MessageRow, col(MessageRow.id) == col(DeliveryRow.message_id))
            .join(NoticeRow, col(NoticeRow.id) == col(MessageRow.notice_id))
            .where(col(DeliveryRow.id).in_(ids))
            .order_by(col(DeliveryRow.id))
        ).all()
        return [
            Claim(
                delivery_id=_id(d.id),
                token=token,
                recipient=d.recipient,
                envelope_from=envelope_from,
                raw=raw,
                attempts=d.attempts,
                enqueued_at=d.enqueued_at,
                incident_id=notice.incident_id,
                notice_kind=notice.kind,
            )
            for d, envelope_from, raw, notice in rows
        ]


def _holds(session: Session, fence: Fence) -> bool:
    """The lease is still the fence's: nobody has taken it since (which changes the epoch).
    Its expiry is for the standbys; the leader stops by its own steady clock before it."""
    row = session.get(LeaderLeaseRow, LEADER_LEASE)
    return row is not None and row.holder == fence.replica and row.epoch == fence.epoch


def shorten_foreign_claims(engine: Engine, replica: str, *, until: datetime) -> int:
    """A new leader's first act: deliveries another replica claimed and never finished become
    claimable at `until` (after that replica's SMTP timeouts), not after the full claim timeout."""
    with transaction(engine) as session:
        result = session.execute(
            update(DeliveryRow)
            .where(
                col(DeliveryRow.status) == DeliveryStatus.SENDING,
                or_(col(DeliveryRow.claimed_by).is_(None), col(DeliveryRow.claimed_by) != replica),
                col(DeliveryRow.claimed_until) > until,
            )
            .values(claimed_until=until)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]


def _id(value: int | None) -> int:
    assert value is not None
    return value


def _finish(engine: Engine, claim: Claim, **values: object) -> bool:
    """Record an outcome if the claim still holds; False if another sender took the row over.

    One UPDATE, atomic by itself. On PostgreSQL it runs in autocommit, one round trip instead of
    BEGIN, UPDATE and COMMIT: after the relay's 250 this is all that stands between the message
    and its record (the duplicate window, docs/delivery-guarantees.md). SQLite keeps the
    write-locking transaction of `transaction`."""
    statement = (
        update(DeliveryRow)
        .where(
            col(DeliveryRow.id) == claim.delivery_id,
            col(DeliveryRow.claim_token) == claim.token,
            col(DeliveryRow.status) == DeliveryStatus.SENDING,
        )
        .values(claimed_until=None, **values)
    )
    if is_sqlite(engine):
        with transaction(engine) as session:
            return session.execute(statement).rowcount == 1  # type: ignore[attr-defined,no-any-return]
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        return connection.execute(statement).rowcount == 1


def mark_sent(engine: Engine, claim: Claim, *, reply: str, now: datetime) -> bool:
    return _finish(engine, claim, status=DeliveryStatus.SENT, last_reply=reply, finished_at=now)


def mark_failed(engine: Engine, claim: Claim, *, reply: str, now: datetime) -> bool:
    return _finish(engine, claim, status=DeliveryStatus.FAILED, last_reply=reply, finished_at=now)


def mark_retry(engine: Engine, claim: Claim, *, reply: str, at: datetime) -> bool:
    return _finish(
        engine, claim, status=DeliveryStatus.PENDING, last_reply=reply, next_attempt_at=at
    )


def release(engine: Engine, claims: list[Claim]) -> int:
    """Hand back claims that were never sent (the daemon is stopping): due again at once."""
    released = 0
    for claim in claims:
        released += _finish(
            engine, claim, status=DeliveryStatus.PENDING, attempts=claim.attempts - 1
        )
    return released


def next_due_at(engine: Engine, channel: str = "email") -> datetime | None:
    """When the earliest waiting delivery of `channel` falls due (a claim's expiry included)."""
    same = col(DeliveryRow.channel) == channel
    with transaction(engine) as session:
        pending = session.scalar(
            select(func.min(col(DeliveryRow.next_attempt_at))).where(
                col(DeliveryRow.status) == DeliveryStatus.PENDING, same
            )
        )
        expiring = session.scalar(
            select(func.min(col(DeliveryRow.claimed_until))).where(
                col(DeliveryRow.status) == DeliveryStatus.SENDING, same
            )
        )
    times = [t for t in (pending, expiring) if t is not None]
    return min(times) if times else None
