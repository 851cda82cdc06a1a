"""Read models of the maintenance windows: for the CLI, the calendar feed and the status page."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, or_, select
from sqlmodel import col

from dispatcher.store.db import transaction
from dispatcher.store.tables import (
    DeliveryRow,
    MaintenanceEventRow,
    MaintenanceRow,
    MessageRow,
    NoticeRow,
)


@dataclass(frozen=True)
class WindowNotice:
    notice: NoticeRow
    counts: Counter[str]  # delivery status → deliveries


@dataclass(frozen=True)
class WindowDetail:
    row: MaintenanceRow
    events: list[MaintenanceEventRow]
    notices: list[WindowNotice]


def list_windows(engine: Engine) -> list[MaintenanceRow]:
    with transaction(engine) as session:
        return list(session.scalars(select(MaintenanceRow).order_by(col(MaintenanceRow.id))))


def window_detail(engine: Engine, number: int) -> WindowDetail | None:
    with transaction(engine) as session:
        row = session.get(MaintenanceRow, number)
        if row is None:
            return None
        events = list(
            session.scalars(
                select(MaintenanceEventRow)
                .where(col(MaintenanceEventRow.maintenance_id) == number)
                .order_by(col(MaintenanceEventRow.id))
            )
        )
        notices = list(
            session.scalars(
                select(NoticeRow)
                .where(col(NoticeRow.maintenance_id) == number)
                .order_by(col(NoticeRow.due_at), col(NoticeRow.sequence))
            )
        )
        counts: dict[int, Counter[str]] = {n.id: Counter() for n in notices if n.id is not None}
        for notice_id, status, count in session.execute(
            select(col(MessageRow.notice_id), col(DeliveryRow.status), func.count())
            .join(MessageRow, col(MessageRow.id) == col(DeliveryRow.message_id))
            .where(col(MessageRow.notice_id).in_(list(counts)))
            .group_by(col(MessageRow.notice_id), col(DeliveryRow.status))
        ):
            counts[notice_id][status] = count
        shown = [WindowNotice(n, counts.get(n.id or 0, Counter())) for n in notices]
        return WindowDetail(row, events, shown)


def feed_windows(engine: Engine, now: datetime, history: timedelta) -> list[MaintenanceRow]:
    """The windows a calendar feed lists: every one not yet over, and those that ended (or
    were cancelled) within `history`, cancelled ones included so subscribers drop them."""
    with transaction(engine) as session:
        return list(
            session.scalars(
                select(MaintenanceRow)
                .where(
                    or_(
                        col(MaintenanceRow.ends_at) > now - history,
                        col(MaintenanceRow.starts_at) > now,
                    )
                )
                .order_by(col(MaintenanceRow.starts_at), col(MaintenanceRow.id))
            )
        )
