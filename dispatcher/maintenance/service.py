"""The commands that plan maintenance: each loads the window under a row lock, asks the pure
core what to do, and commits the new window, its timeline and its notices (outbox rows with
their due times) in one transaction. The scheduler's `release_due` deals with windows that are
over: FMK still reported down starts the escalation chain then."""

from __future__ import annotations

import uuid
from datetime import datetime

import structlog
from sqlalchemy import func, select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col

from dispatcher.core import maintenance as core
from dispatcher.core import suppression
from dispatcher.core.maintenance import Change, Schedule, Window, WindowDecision
from dispatcher.core.model import SYSTEM_ACTOR, Record, Rejected
from dispatcher.core.text import local_time
from dispatcher.incidents.service import AlreadyOpen, Dispatch, open_in
from dispatcher.maintenance import notices
from dispatcher.maintenance.mapping import to_window, write_window
from dispatcher.store.db import transaction
from dispatcher.store.tables import MaintenanceEventRow, MaintenanceRow

log = structlog.get_logger(__name__)


class UnknownWindow(Rejected):
    """No maintenance window has that number."""


def schedule(
    d: Dispatch, request: Schedule, now: datetime, *, reference: str | None = None
) -> tuple[int, WindowDecision]:
    with transaction(d.engine) as session:
        return schedule_in(session, d, request, now, reference=reference)


def schedule_in(
    session: Session,
    d: Dispatch,
    request: Schedule,
    now: datetime,
    *,
    reference: str | None = None,
) -> tuple[int, WindowDecision]:
    """A new window, with SDS's `reference` if SDS announced it."""
    decision = core.schedule(request, now, d.maintenance)
    row = MaintenanceRow(
        uid=str(uuid.uuid4()),
        reference=reference,
        status=str(decision.window.status),
        starts_at=decision.window.starts_at,
        ends_at=decision.window.ends_at,
        text=decision.window.text,
        created_at=now,
        created_by=request.actor,
    )
    write_window(row, decision.window)
    session.add(row)
    session.flush()
    _carry_out(session, d, row, decision, now, previous=None)
    assert row.id is not None
    return row.id, decision


def change(d: Dispatch, number: int, request: Change, now: datetime) -> WindowDecision:
    with transaction(d.engine) as session:
        return change_in(session, d, number, request, now)


def change_in(
    session: Session, d: Dispatch, number: int, request: Change, now: datetime
) -> WindowDecision:
    row = _locked(session, number)
    before = to_window(row)
    decision = core.change(before, request, now, d.maintenance)
    write_window(row, decision.window)
    _carry_out(session, d, row, decision, now, previous=before)
    return decision


def cancel(d: Dispatch, number: int, actor: str, reason: str, now: datetime) -> WindowDecision:
    with transaction(d.engine) as session:
        return cancel_in(session, d, number, actor, reason, now)


def cancel_in(
    session: Session, d: Dispatch, number: int, actor: str, reason: str, now: datetime
) -> WindowDecision:
    row = _locked(session, number)
    decision = core.cancel(to_window(row), actor, reason, now)
    write_window(row, decision.window)
    _carry_out(session, d, row, decision, now, previous=None)
    return decision


def record(session: Session, row: MaintenanceRow, decision: WindowDecision, now: datetime) -> None:
    """Store the window and its timeline entries (a decision without notices)."""
    write_window(row, decision.window)
    _carry_out_records(session, row, decision, now)


def release_due(d: Dispatch, now: datetime) -> list[int]:
    """Deal with every window that is over; return the incidents that opened because FMK was
    still reported down at the end of one."""
    cutoff = now - d.maintenance.grace
    with transaction(d.engine) as session:
        due = list(
            session.scalars(
                select(col(MaintenanceRow.id)).where(
                    *_unreleased(), col(MaintenanceRow.ends_at) <= cutoff
                )
            )
        )
    opened = []
    for number in due:
        assert number is not None
        with transaction(d.engine) as session:
            incident = _release(session, d, number, now)
        if incident is not None:
            opened.append(incident)
    return opened


def next_release(d: Dispatch) -> datetime | None:
    """When the next window is over (its end plus the grace), if any is still to be."""
    with transaction(d.engine) as session:
        end = session.scalar(select(func.min(col(MaintenanceRow.ends_at))).where(*_unreleased()))
    return end + d.maintenance.grace if end is not None else None


def _unreleased() -> tuple[ColumnElement[bool], ...]:
    return (
        col(MaintenanceRow.released).is_(False),
        col(MaintenanceRow.status) == str(core.WindowStatus.SCHEDULED),
    )


def _release(session: Session, d: Dispatch, number: int, now: datetime) -> int | None:
    row = _locked(session, number)
    window = to_window(row)
    if not suppression.release_due(window, now, d.maintenance):
        return None  # another replica dealt with it, or it was changed meanwhile
    decision, trigger = suppression.release(
        window, now, d.maintenance, guidance=d.standard_guidance, mode=d.release
    )
    record(session, row, decision, now)
    if trigger is None:
        return None
    try:
        incident, _ = open_in(session, d, trigger, now)
    except AlreadyOpen as exc:
        text = f"FMK incident #{exc.incident_id} is open already; the signal belongs to it"
        _add_event(session, row, Record("over", SYSTEM_ACTOR, text), now)
        return None
    _add_event(session, row, Record("incident", SYSTEM_ACTOR, f"opened #{incident}"), now)
    log.info("maintenance.still_down", maintenance_id=number, incident_id=incident)
    return incident


def _locked(session: Session, number: int) -> MaintenanceRow:
    row = session.scalar(
        select(MaintenanceRow).where(col(MaintenanceRow.id) == number).with_for_update()
    )
    if row is None:
        raise UnknownWindow(f"there is no maintenance window #{number}")
    return row


def _carry_out(
    session: Session,
    d: Dispatch,
    row: MaintenanceRow,
    decision: WindowDecision,
    now: datetime,
    *,
    previous: Window | None,
) -> None:
    assert row.id is not None
    _carry_out_records(session, row, decision, now)
    actor = next((e.actor for e in decision.effects if isinstance(e, Record)), "dispatcher")
    mail = notices.WindowMail(
        row=row,
        window=decision.window,
        registry=d.registry,
        renderer=d.renderer,
        public_url=d.public_url,
        previous=previous,
    )
    for effect in decision.effects:
        if isinstance(effect, core.Withdraw):
            withdrawn = notices.withdraw(session, row.id, now)
            if withdrawn:
                text = f"{withdrawn} notices still to come withdrawn"
                _add_event(session, row, Record("withdrawn", actor, text), now)
        elif isinstance(effect, core.Plan):
            count = notices.enqueue(session, mail, effect, actor=actor, now=now)
            if count:
                due = local_time(effect.due_at)
                text = f"{effect.kind} notice for {count} recipients, due {due}"
                _add_event(session, row, Record("notice", actor, text), now)


def _carry_out_records(
    session: Session, row: MaintenanceRow, decision: WindowDecision, now: datetime
) -> None:
    for effect in decision.effects:
        if isinstance(effect, Record):
            _add_event(session, row, effect, now)


def _add_event(session: Session, row: MaintenanceRow, entry: Record, now: datetime) -> None:
    assert row.id is not None
    session.add(
        MaintenanceEventRow(
            maintenance_id=row.id, at=now, actor=entry.actor, kind=entry.kind, text=entry.text
        )
    )
