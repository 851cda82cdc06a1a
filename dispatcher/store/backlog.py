"""What waits in the outbox, as the metrics, `dispatcher status` and the relay's health count it.

A pending delivery of a notice due later (a maintenance reminder, days ahead) is `scheduled`,
not waiting: counting it as pending made the oldest-pending age days long and the
"deliveries stuck" alert fire while nothing was wrong."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, case, func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from dispatcher.store.tables import DeliveryRow, DeliveryStatus, MessageRow, NoticeRow

SCHEDULED = "scheduled"  # a label beside the delivery statuses: pending, due later

# When a delivery became due: its maintenance notice's due time, else when it was queued.
DUE: ColumnElement[datetime] = func.coalesce(col(NoticeRow.due_at), col(DeliveryRow.enqueued_at))


def _joined(query: Select[Any]) -> Select[Any]:
    return (
        query.select_from(DeliveryRow)
        .join(MessageRow, col(MessageRow.id) == col(DeliveryRow.message_id))
        .join(NoticeRow, col(NoticeRow.id) == col(MessageRow.notice_id))
    )


def by_state(session: Session, now: datetime) -> dict[str, int]:
    """Deliveries by status, with the pending ones not yet due counted as `scheduled`."""
    pending = col(DeliveryRow.status) == DeliveryStatus.PENDING.value
    state = case((pending & (now < DUE), SCHEDULED), else_=col(DeliveryRow.status))
    rows = session.execute(_joined(select(state, func.count())).group_by(state))
    return {str(key): int(count) for key, count in rows}


def oldest_due(session: Session, now: datetime) -> datetime | None:
    """When the longest-waiting pending delivery became due; None when none is due."""
    pending = col(DeliveryRow.status) == DeliveryStatus.PENDING.value
    found = session.execute(_joined(select(func.min(DUE))).where(pending, now >= DUE)).scalar()
    return found if isinstance(found, datetime) or found is None else None
