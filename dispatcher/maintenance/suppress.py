"""SDS signals while a maintenance window is active: an outage the window explains goes on the
window's timeline and pages and tells nobody; FMK reported up again clears it. Asked only when
no FMK incident is open, so an open incident is never silenced."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session, col

from dispatcher.core import maintenance as core
from dispatcher.core import suppression
from dispatcher.core.maintenance import MaintenancePolicy, Outage, Window
from dispatcher.maintenance.mapping import to_window
from dispatcher.maintenance.service import record
from dispatcher.signals.model import Signal, SignalKind, SignalOutcome
from dispatcher.store.tables import MaintenanceRow


def absorb(
    session: Session, signal: Signal, now: datetime, policy: MaintenancePolicy
) -> SignalOutcome | None:
    """The answer to `signal` when a window takes it, or None when no window explains it (it
    is handled as usual)."""
    if signal.drill or signal.kind not in (SignalKind.OUTAGE, SignalKind.RESOLVED):
        return None
    rows = {row.id: row for row in _candidates(session, now, policy) if row.id is not None}
    windows = {number: to_window(row) for number, row in rows.items()}
    if signal.kind is SignalKind.OUTAGE:
        scope = signal.scope.codes if signal.scope else ()
        number = suppression.suppressing(windows, scope, now, policy)
        if number is None:
            return None
        outage = Outage(
            since=min(signal.started_at or now, now),
            summary=signal.summary or "",
            details=signal.details,
            severity=str(signal.severity or "down"),
            scope=scope,
            scope_label=signal.scope.label if signal.scope else "",
        )
        decision = suppression.absorb_outage(windows[number], outage)
    else:
        number = _down(windows)
        if number is None:
            return None
        decision = suppression.absorb_resolved(windows[number])
    record(session, rows[number], decision, now)
    return SignalOutcome(200, {"action": "suppressed", "maintenance": number})


def _down(windows: dict[int, Window]) -> int | None:
    return next((n for n, w in sorted(windows.items()) if w.down is not None), None)


def _candidates(session: Session, now: datetime, policy: MaintenancePolicy) -> list[MaintenanceRow]:
    """The windows that may be active at `now` (locked: the signal changes one of them)."""
    return list(
        session.scalars(
            select(MaintenanceRow)
            .where(
                col(MaintenanceRow.status) == str(core.WindowStatus.SCHEDULED),
                col(MaintenanceRow.released).is_(False),
                col(MaintenanceRow.starts_at) <= now,
                col(MaintenanceRow.ends_at) > now - policy.grace,
            )
            .order_by(col(MaintenanceRow.id))
            .with_for_update()
        )
    )
