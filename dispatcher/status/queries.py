"""What the status page reads: the incidents the municipalities were told about.

Public means not a drill and `informed_at` set (the initial municipal notice was queued).
Of their notices only the municipal kinds count (initial, update, all_clear, correction):
pages, vendor alerts and on-call notices never show, and nothing about people is read.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import datetime

from sqlalchemy import Engine, func, not_, select
from sqlmodel import Session, col

from dispatcher.contacts.model import Registry
from dispatcher.core.kinds import MUNICIPAL_KINDS
from dispatcher.status.maintenance_view import window_views
from dispatcher.status.view import IncidentView, PublicIncident, StatusView, incident_view
from dispatcher.status.view import status_view as build_status
from dispatcher.store.db import read_only
from dispatcher.store.tables import IncidentRow, MaintenanceEventRow, MaintenanceRow, NoticeRow

HISTORY = 20


def status_view(
    engine: Engine, registry: Registry, now: datetime, *, history: int = HISTORY
) -> StatusView:
    """FMK's status at `now`, with the open incident (if any) and the last `history` closed."""
    with read_only(engine) as session:
        found = _public(session, limit=history + 1)
        rows, changed = _windows(session, now)
    view = build_status(found, now, registry, history=history)
    return replace(view, maintenance=window_views(rows, changed, now))


def _windows(session: Session, now: datetime) -> tuple[list[MaintenanceRow], dict[int, datetime]]:
    """The maintenance windows not over at `now`, and when each was last planned or changed."""
    rows = list(
        session.scalars(
            select(MaintenanceRow).where(
                col(MaintenanceRow.ends_at) > now,
                col(MaintenanceRow.status) == "scheduled",
            )
        )
    )
    changed: dict[int, datetime] = {}
    if rows:
        for number, at in session.execute(
            select(col(MaintenanceEventRow.maintenance_id), func.max(col(MaintenanceEventRow.at)))
            .where(
                col(MaintenanceEventRow.maintenance_id).in_([r.id for r in rows]),
                col(MaintenanceEventRow.kind).in_(["scheduled", "changed"]),
            )
            .group_by(col(MaintenanceEventRow.maintenance_id))
        ):
            changed[number] = at
    return rows, changed


def public_incidents(
    engine: Engine, registry: Registry, now: datetime, *, limit: int
) -> list[IncidentView]:
    """The last `limit` public incidents, newest first, each with its municipal notices."""
    with read_only(engine) as session:
        found = _public(session, limit=limit)
    return [incident_view(incident, now, registry) for incident in found]


def incident_page(
    engine: Engine, registry: Registry, number: int, now: datetime
) -> IncidentView | None:
    """Public incident `number`, or None if there is none (a drill or a held one is none)."""
    with read_only(engine) as session:
        found = _public(session, limit=1, number=number)
    return incident_view(found[0], now, registry) if found else None


def _public(session: Session, *, limit: int, number: int | None = None) -> list[PublicIncident]:
    query = (
        select(IncidentRow)
        .where(not_(col(IncidentRow.drill)), col(IncidentRow.informed_at).is_not(None))
        .order_by(col(IncidentRow.id).desc())
        .limit(limit)
    )
    if number is not None:
        query = query.where(col(IncidentRow.id) == number)
    rows = list(session.scalars(query))
    notices: dict[int, list[NoticeRow]] = defaultdict(list)
    if rows:
        kinds = sorted(kind.value for kind in MUNICIPAL_KINDS)
        for notice in session.scalars(
            select(NoticeRow)
            .where(
                col(NoticeRow.incident_id).in_([row.id for row in rows]),
                col(NoticeRow.kind).in_(kinds),
            )
            .order_by(col(NoticeRow.sequence))
        ):
            assert notice.incident_id is not None
            notices[notice.incident_id].append(notice)
    return [PublicIncident(row, notices[row.id]) for row in rows if row.id is not None]
