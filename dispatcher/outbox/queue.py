"""The delivery rows as a queue: claim due rows, then record each outcome under the claim token.

A claim is committed before the SMTP transaction starts, and the outcome after it ends, so a
crash leaves a row `pending` (never sent) or `sending` (maybe sent). A `sending` row whose claim
has expired is claimed again; that retry is the one window in which a recipient can get a
notice twice (see docs/delivery-guarantees.md). Outcomes are recorded in groups (`finish`): one
transaction for all that are ready, each row still under its own claim token.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import (
    Engine,
    Integer,
    String,
    and_,
    column,
    func,
    or_,
    select,
    update,
    values,
)
from sqlalchemy.sql.dml import ReturningUpdate, Update
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


@dataclass(frozen=True)
class Outcome:
    """What to write to one claimed delivery's row once its SMTP transaction has ended."""

    claim: Claim
    values: dict[str, object] = field(hash=False)

    @property
    def sent(self) -> bool:
        return self.values.get("status") == DeliveryStatus.SENT

    @property
    def retry(self) -> bool:
        return "next_attempt_at" in self.values


def sent(claim: Claim, *, reply: str, now: datetime) -> Outcome:
    return Outcome(claim, {"status": DeliveryStatus.SENT, "last_reply": reply, "finished_at": now})


def failed(claim: Claim, *, reply: str, now: datetime) -> Outcome:
    return Outcome(
        claim, {"status": DeliveryStatus.FAILED, "last_reply": reply, "finished_at": now}
    )


def retry(claim: Claim, *, reply: str, at: datetime) -> Outcome:
    return Outcome(
        claim, {"status": DeliveryStatus.PENDING, "last_reply": reply, "next_attempt_at": at}
    )


def handed_back(claim: Claim) -> Outcome:
    """Never sent (the daemon is stopping): due again at once, the attempt not counted."""
    return Outcome(claim, {"status": DeliveryStatus.PENDING, "attempts": claim.attempts - 1})


def finish(engine: Engine, outcomes: Sequence[Outcome]) -> list[bool]:
    """Record `outcomes` in one transaction, each only if its claim still holds; per outcome,
    False if another sender took the row over.

    The commit (a flush to disk) is what costs, and after the relay's 250 it is all that stands
    between the message and its record (the duplicate window, docs/delivery-guarantees.md), so a
    group shares one. On PostgreSQL the outcomes of one kind are one UPDATE … FROM (VALUES …)
    in autocommit: one round trip for the group. SQLite runs one UPDATE per row (in-process,
    microseconds) in a transaction that takes the write lock (`BEGIN IMMEDIATE`)."""
    if not outcomes:
        return []
    if is_sqlite(engine):
        with engine.begin() as connection:
            return [connection.execute(_finish_one(o)).rowcount == 1 for o in outcomes]
    kinds: dict[tuple[str, ...], list[Outcome]] = {}
    for outcome in outcomes:
        kinds.setdefault(tuple(sorted(outcome.values)), []).append(outcome)
    isolation = "AUTOCOMMIT" if len(kinds) == 1 else "READ COMMITTED"
    with engine.connect().execution_options(isolation_level=isolation) as connection:
        recorded: set[int] = set()
        for keys, group in kinds.items():
            recorded.update(connection.scalars(_finish_many(keys, group)))
        if len(kinds) > 1:
            connection.commit()
    return [o.claim.delivery_id in recorded for o in outcomes]


def _finish_one(outcome: Outcome) -> Update:
    return _under_claim(outcome.claim.delivery_id, outcome.claim.token, outcome.values)


def _finish_many(keys: tuple[str, ...], group: list[Outcome]) -> ReturningUpdate[tuple[int]]:
    table = DeliveryRow.__table__  # type: ignore[attr-defined]
    given = values(
        column("id", Integer),
        column("token", String),
        *(column(key, table.c[key].type) for key in keys),
        name="given",
    ).data([(o.claim.delivery_id, o.claim.token, *(o.values[k] for k in keys)) for o in group])
    written = {key: given.c[key] for key in keys}
    return _under_claim(given.c.id, given.c.token, written).returning(col(DeliveryRow.id))


def _under_claim(
    delivery_id: int | ColumnElement[int],
    token: str | ColumnElement[str],
    written: Mapping[str, object],
) -> Update:
    """Write `written` to the row, only while it is still `sending` under `token`."""
    return (
        update(DeliveryRow)
        .where(
            col(DeliveryRow.id) == delivery_id,
            col(DeliveryRow.claim_token) == token,
            col(DeliveryRow.status) == DeliveryStatus.SENDING,
        )
        .values(claimed_until=None, **written)
    )


def mark_sent(engine: Engine, claim: Claim, *, reply: str, now: datetime) -> bool:
    return finish(engine, [sent(claim, reply=reply, now=now)])[0]


def mark_failed(engine: Engine, claim: Claim, *, reply: str, now: datetime) -> bool:
    return finish(engine, [failed(claim, reply=reply, now=now)])[0]


def mark_retry(engine: Engine, claim: Claim, *, reply: str, at: datetime) -> bool:
    return finish(engine, [retry(claim, reply=reply, at=at)])[0]


def release(engine: Engine, claims: list[Claim]) -> int:
    """Hand back claims that were never sent (the daemon is stopping): due again at once."""
    return sum(finish(engine, [handed_back(c) for c in claims])) if claims else 0


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
