"""Load one incident's records for the report: a thin read of the tables, nothing computed.

Confirmations come from the `receipt` table where this installation has one (receipt
confirmation, issue #12 point 3); without it the report says that none are recorded."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, inspect, select, text
from sqlmodel import Session, col

from dispatcher.contacts.model import Registry
from dispatcher.contacts.scope import affected
from dispatcher.notices.render import addressee
from dispatcher.report.records import Delivery, Entry, Notice, Records
from dispatcher.store.db import read_only
from dispatcher.store.tables import (
    DeliveryRow,
    IncidentRow,
    MessageRow,
    NoticeRow,
    SignalRow,
    TimelineRow,
)
from dispatcher.store.types import UTCDateTime


def load(engine: Engine, registry: Registry, number: int) -> Records | None:
    """Incident `number`'s records, or None if there is no such incident."""
    with read_only(engine) as session:
        row = session.get(IncidentRow, number)
        if row is None:
            return None
        codes = [int(c) for c in (row.scope or "").split(",") if c]
        told = not row.drill or row.drill_municipalities
        return Records(
            number=number,
            summary=row.summary,
            status=row.status,
            drill=row.drill,
            opened_at=row.opened_at,
            down_since=row.down_since,
            acknowledged_at=row.acknowledged_at,
            owner=row.owner,
            closed_at=row.closed_at,
            signals=tuple(
                session.scalars(
                    select(col(SignalRow.received_at))
                    .where(col(SignalRow.incident_id) == number, col(SignalRow.kind) == "outage")
                    .order_by(col(SignalRow.received_at))
                )
            ),
            timeline=tuple(
                Entry(t.at, t.actor, t.kind, t.text)
                for t in session.scalars(
                    select(TimelineRow)
                    .where(col(TimelineRow.incident_id) == number)
                    .order_by(col(TimelineRow.at), col(TimelineRow.id))
                )
            ),
            notices=tuple(
                Notice(n.sequence, n.kind, n.created_at)
                for n in session.scalars(
                    select(NoticeRow)
                    .where(col(NoticeRow.incident_id) == number)
                    .order_by(col(NoticeRow.sequence))
                )
            ),
            deliveries=_deliveries(session, number),
            municipalities=tuple(
                (m.audience, addressee(m)) for m in affected(registry, codes) if told
            ),
            receipts=_receipts(session, number),
        )


def _deliveries(session: Session, number: int) -> tuple[Delivery, ...]:
    rows = session.execute(
        select(DeliveryRow, col(NoticeRow.sequence), col(NoticeRow.kind), col(MessageRow.audience))
        .join(MessageRow, col(MessageRow.id) == col(DeliveryRow.message_id))
        .join(NoticeRow, col(NoticeRow.id) == col(MessageRow.notice_id))
        .where(col(NoticeRow.incident_id) == number)
        .order_by(col(DeliveryRow.id))
    ).all()
    return tuple(
        Delivery(
            notice_sequence=sequence,
            notice_kind=kind,
            audience=audience,
            recipient=d.recipient,
            status=d.status,
            attempts=d.attempts,
            finished_at=d.finished_at,
            last_reply=d.last_reply,
            dsn=f"{d.dsn_status or ''} {d.dsn_diagnostic or ''}".strip() or None,
        )
        for d, sequence, kind, audience in rows
    )


def _receipts(session: Session, number: int) -> tuple[tuple[str, datetime], ...] | None:
    if not inspect(session.connection()).has_table("receipt"):
        return None
    at = UTCDateTime(timezone=True)
    rows = session.execute(
        text(
            "SELECT municipality_code, confirmed_at FROM receipt WHERE incident_id = :n "
            "ORDER BY confirmed_at"
        ).columns(confirmed_at=at),
        {"n": number},
    ).all()
    return tuple((f"kommune-{code}", confirmed) for code, confirmed in rows)
