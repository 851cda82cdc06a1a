"""Load one incident's records for the report: a thin read of the tables, nothing computed.
Municipalities are named as the registry names them; one the registry no longer has is named
by its code."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, select
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
    ReceiptRow,
    SignalRow,
    TimelineRow,
)


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
            receipts=_receipts(session, registry, number),
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


def _receipts(
    session: Session, registry: Registry, number: int
) -> tuple[tuple[str, datetime], ...]:
    rows = session.scalars(
        select(ReceiptRow)
        .where(col(ReceiptRow.incident_id) == number)
        .order_by(col(ReceiptRow.confirmed_at), col(ReceiptRow.municipality_code))
    )
    return tuple((_name(registry, r.municipality_code), r.confirmed_at) for r in rows)


def _name(registry: Registry, code: int) -> str:
    municipality = registry.municipality(code)
    return addressee(municipality) if municipality is not None else f"kommune {code}"
