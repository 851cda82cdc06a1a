"""A maintenance window announced by SDS (`kind: maintenance`): the first signal under a
`reference` schedules the window, a later one changes it to what it says (or cancels it). Each
signal is the window's whole state, so a repeat answers "unchanged" and changes nothing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session, col

from dispatcher.core.maintenance import Change, Schedule
from dispatcher.core.model import SDS_ACTOR, Rejected
from dispatcher.incidents.service import Dispatch
from dispatcher.maintenance import service
from dispatcher.maintenance.mapping import to_window
from dispatcher.signals.model import Signal, SignalOutcome
from dispatcher.store.tables import MaintenanceRow


def receive(
    session: Session, d: Dispatch, signal: Signal, now: datetime
) -> tuple[SignalOutcome, None]:
    """Schedule, change or cancel the window SDS names; Rejected if it does not fit."""
    planned = signal.maintenance
    assert planned is not None
    codes = signal.scope.codes if signal.scope else ()
    label = signal.scope.label if signal.scope else ""
    number = session.scalar(
        select(col(MaintenanceRow.id)).where(col(MaintenanceRow.reference) == planned.reference)
    )
    if planned.cancelled:
        if number is None:
            raise Rejected(f"no maintenance window has the reference {planned.reference!r}")
        service.cancel_in(session, d, number, SDS_ACTOR, signal.details, now)
        return _answer(200, "cancelled", number), None
    assert planned.starts_at is not None
    assert planned.ends_at is not None
    assert planned.text is not None
    if number is None:
        request = Schedule(
            SDS_ACTOR, planned.starts_at, planned.ends_at, planned.text, codes, label
        )
        number, _ = service.schedule_in(session, d, request, now, reference=planned.reference)
        return _answer(201, "scheduled", number), None
    row = session.get(MaintenanceRow, number)
    assert row is not None
    window = to_window(row)
    same = (
        window.starts_at == planned.starts_at
        and window.ends_at == planned.ends_at
        and window.text == planned.text.strip()
        and window.scope == tuple(sorted(set(codes)))
    )
    if same:
        return _answer(200, "unchanged", number), None
    change = Change(SDS_ACTOR, planned.starts_at, planned.ends_at, planned.text, codes, label)
    service.change_in(session, d, number, change, now)
    return _answer(200, "changed", number), None


def _answer(status: int, action: str, number: int) -> SignalOutcome:
    return SignalOutcome(status, {"action": action, "maintenance": number})
