"""Read models for the CLI and, later, the status page: incidents, timelines, delivery status."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine, select
from sqlmodel import col

from dispatcher.core.receipts import Summary, summarise
from dispatcher.incidents.receipts import receipts
from dispatcher.store.db import transaction
from dispatcher.store.tables import (
    DeliveryRow,
    DeliveryStatus,
    IncidentRow,
    MessageRow,
    NoticeRow,
    TimelineRow,
)


@dataclass(frozen=True)
class Failure:
    """A delivery that did not reach its recipient: `failed` (the relay refused it, `reply`)
    or `bounced` (a DSN came back: its status code and diagnostic)."""

    notice_sequence: int
    audience: str
    recipient: str
    reply: str
    status: str = DeliveryStatus.FAILED


@dataclass(frozen=True)
class Waiting:
    """A delivery that waits after a failed attempt: the relay's last reply, the next try."""

    notice_sequence: int
    audience: str
    recipient: str
    reply: str
    next_attempt_at: datetime


@dataclass(frozen=True)
class NoticeStatus:
    notice: NoticeRow
    counts: Counter[str]


@dataclass
class IncidentDetail:
    incident: IncidentRow
    timeline: list[TimelineRow]
    notices: list[NoticeStatus]
    failures: list[Failure]
    # audience → notice sequence → the worst delivery status among that audience's recipients
    grid: dict[str, dict[int, str]] = field(default_factory=dict)
    waiting: list[Waiting] = field(default_factory=list)
    receipts: Summary | None = None  # None if no municipality was addressed


_SEVERITY = {
    DeliveryStatus.SENT: 0,
    DeliveryStatus.PENDING: 1,
    DeliveryStatus.SENDING: 2,
    DeliveryStatus.FAILED: 3,
    DeliveryStatus.BOUNCED: 4,
}


def incident_detail(engine: Engine, incident_id: int) -> IncidentDetail | None:
    with transaction(engine) as session:
        incident = session.get(IncidentRow, incident_id)
        if incident is None:
            return None
        timeline = list(
            session.scalars(
                select(TimelineRow)
                .where(col(TimelineRow.incident_id) == incident_id)
                .order_by(col(TimelineRow.at), col(TimelineRow.id))
            )
        )
        notices = list(
            session.scalars(
                select(NoticeRow)
                .where(col(NoticeRow.incident_id) == incident_id)
                .order_by(col(NoticeRow.sequence))
            )
        )
        rows = session.execute(
            select(
                col(NoticeRow.sequence),
                col(MessageRow.audience),
                col(DeliveryRow.recipient),
                col(DeliveryRow.status),
                col(DeliveryRow.last_reply),
                col(DeliveryRow.dsn_status),
                col(DeliveryRow.dsn_diagnostic),
                col(DeliveryRow.attempts),
                col(DeliveryRow.next_attempt_at),
            )
            .join(MessageRow, col(MessageRow.id) == col(DeliveryRow.message_id))
            .join(NoticeRow, col(NoticeRow.id) == col(MessageRow.notice_id))
            .where(col(NoticeRow.incident_id) == incident_id)
            .order_by(col(DeliveryRow.id))
        ).all()
        found = receipts(session, incident_id)
    counts: dict[int, Counter[str]] = defaultdict(Counter)
    grid: dict[str, dict[int, str]] = defaultdict(dict)
    failures = []
    waiting = []
    for (
        sequence,
        audience,
        recipient,
        status,
        reply,
        dsn_status,
        dsn_diagnostic,
        attempts,
        next_at,
    ) in rows:
        counts[sequence][status] += 1
        worst = grid[audience].get(sequence, DeliveryStatus.SENT)
        grid[audience][sequence] = max(worst, status, key=lambda s: _SEVERITY[DeliveryStatus(s)])
        if status == DeliveryStatus.FAILED:
            failures.append(Failure(sequence, audience, recipient, reply or ""))
        elif status == DeliveryStatus.BOUNCED:
            said = f"{dsn_status or ''} {dsn_diagnostic or ''}".strip()
            failures.append(Failure(sequence, audience, recipient, said, status))
        elif status == DeliveryStatus.PENDING and attempts:
            waiting.append(Waiting(sequence, audience, recipient, reply or "", next_at))
    return IncidentDetail(
        incident=incident,
        timeline=timeline,
        notices=[NoticeStatus(n, counts[n.sequence]) for n in notices],
        failures=failures,
        grid=dict(grid),
        waiting=waiting,
        receipts=summarise(found) if found else None,
    )
