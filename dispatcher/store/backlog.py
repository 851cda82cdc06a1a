"""What waits in the outbox, as the metrics and `dispatcher status` count it.

A delivery of a maintenance notice is queued with its due time as `enqueued_at` (days ahead,
for a reminder); until then it is `scheduled`, not pending: nothing waits for the relay."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from dispatcher.store.tables import DeliveryRow, DeliveryStatus

SCHEDULED = "scheduled"  # a label beside the delivery statuses: pending, due later


def by_state(session: Session, now: datetime) -> dict[str, int]:
    """Deliveries by status, with the pending ones not yet due counted as `scheduled`."""
    pending, queued = (
        col(DeliveryRow.status) == DeliveryStatus.PENDING,
        col(DeliveryRow.enqueued_at),
    )
    state = case((pending & (queued > now), SCHEDULED), else_=col(DeliveryRow.status))
    rows = session.execute(select(state, func.count()).group_by(state))
    return {str(key): int(count) for key, count in rows}


def oldest_due(session: Session, now: datetime) -> datetime | None:
    """When the longest-waiting pending delivery fell due; None when none is due."""
    pending, queued = (
        col(DeliveryRow.status) == DeliveryStatus.PENDING,
        col(DeliveryRow.enqueued_at),
    )
    found: datetime | None = session.scalar(select(func.min(queued)).where(pending, queued <= now))
    return found
