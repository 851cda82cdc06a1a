"""The numbering and the threads of an incident's notices: the next sequence number, how many
municipal notices there have been, and the Message-IDs each audience has had."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func, select
from sqlmodel import Session, col

from dispatcher.core.kinds import MUNICIPAL_KINDS
from dispatcher.store.tables import MessageRow, NoticeRow


def next_sequence(session: Session, incident_id: int | None) -> int:
    column = col(NoticeRow.incident_id)
    same = column.is_(None) if incident_id is None else column == incident_id
    return (session.scalar(select(func.max(col(NoticeRow.sequence))).where(same)) or 0) + 1


def municipal_count(session: Session, incident_id: int | None) -> int:
    """How many municipal notices this incident has had, the one being queued included."""
    return (
        session.scalar(
            select(func.count())
            .select_from(NoticeRow)
            .where(
                col(NoticeRow.incident_id) == incident_id,
                col(NoticeRow.kind).in_([str(k) for k in MUNICIPAL_KINDS]),
            )
        )
        or 0
    )


def thread_ids(session: Session, incident_id: int | None) -> dict[str, list[str]]:
    """Message-IDs already sent to each audience in this thread, oldest first."""
    column = col(NoticeRow.incident_id)
    same = column.is_(None) if incident_id is None else column == incident_id
    rows = session.execute(
        select(col(MessageRow.audience), col(MessageRow.rfc_message_id))
        .join(NoticeRow, col(NoticeRow.id) == col(MessageRow.notice_id))
        .where(same)
        .order_by(col(NoticeRow.sequence))
    ).all()
    threads: dict[str, list[str]] = defaultdict(list)
    for audience, rfc_id in rows:
        threads[audience].append(rfc_id)
    return threads
