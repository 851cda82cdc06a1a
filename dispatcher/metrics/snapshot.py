"""What the metrics say, read from the database in one read-only transaction."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Mapped
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col

from dispatcher.core.receipts import Summary
from dispatcher.incidents.mapping import OPEN_KEY
from dispatcher.metrics.receipts import open_receipts, relay_failing_since
from dispatcher.signals.heartbeat import MONITOR
from dispatcher.store import backlog
from dispatcher.store.db import read_only
from dispatcher.store.tables import (
    LEADER_LEASE,
    IncidentRow,
    LeaderLeaseRow,
    MonitorRow,
    NoticeRow,
    SignalRow,
    TimelineRow,
)

FAILSAFE = "failsafe"


@dataclass(frozen=True)
class Snapshot:
    """What the metrics say, as read from the database in one transaction."""

    open_incidents: int
    incidents: Mapping[str, int]
    # By status; a pending delivery due later (a maintenance reminder) counts as "scheduled".
    deliveries: Mapping[str, int]
    # When the longest-waiting pending delivery fell due (store.backlog).
    oldest_pending_due_at: datetime | None
    last_signals: Mapping[str, datetime]
    last_heartbeat_at: datetime | None
    heartbeat_lost: bool
    notices: Mapping[str, int]
    failsafe_sends: int
    leader_epoch: int = 0
    leader_lease_expires_at: datetime | None = None
    relay_failing_since: datetime | None = None
    receipts: Mapping[int, Summary] = field(default_factory=dict)


def read_snapshot(engine: Engine, now: datetime) -> Snapshot:
    """A handful of aggregate queries; raises SQLAlchemyError if the database does not answer."""
    with read_only(engine) as session:
        monitor = session.get(MonitorRow, MONITOR)
        lease = session.get(LeaderLeaseRow, LEADER_LEASE)
        return Snapshot(
            open_incidents=session.scalar(
                select(func.count())
                .select_from(IncidentRow)
                .where(col(IncidentRow.open_key) == OPEN_KEY)
            )
            or 0,
            incidents=_count_by(
                session, col(IncidentRow.status), col(IncidentRow.drill).is_(False)
            ),
            deliveries=backlog.by_state(session, now),
            oldest_pending_due_at=backlog.oldest_due(session, now),
            last_signals={
                kind: at
                for kind, at in session.execute(
                    select(col(SignalRow.kind), func.max(col(SignalRow.received_at))).group_by(
                        col(SignalRow.kind)
                    )
                )
                if at is not None
            },
            last_heartbeat_at=monitor.last_seen_at if monitor else None,
            heartbeat_lost=monitor is not None and monitor.lost_since is not None,
            notices=_count_by(session, col(NoticeRow.kind)),
            failsafe_sends=session.scalar(
                select(func.count())
                .select_from(TimelineRow)
                .join(IncidentRow, col(IncidentRow.id) == col(TimelineRow.incident_id))
                .where(col(TimelineRow.kind) == FAILSAFE, col(IncidentRow.drill).is_(False))
            )
            or 0,
            leader_epoch=lease.epoch if lease else 0,
            leader_lease_expires_at=lease.expires_at if lease and lease.holder else None,
            relay_failing_since=relay_failing_since(session),
            receipts=open_receipts(session),
        )


def _count_by(session: Session, column: Mapped[str], *where: ColumnElement[bool]) -> dict[str, int]:
    rows = session.execute(select(column, func.count()).where(*where).group_by(column))
    return {str(key): int(count) for key, count in rows}
