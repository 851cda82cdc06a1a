"""An alert from Alertmanager or a PagerDuty-shaped event, as an SDS signal: handled once by
its event id, suppressed by a maintenance window like SDS's own, and tied to its alert group so
that the group's resolution resolves the incident it raised and no other."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlmodel import Session

from dispatcher.config import Settings
from dispatcher.incidents.service import Dispatch, open_incident_id
from dispatcher.signals.model import Severity, Signal, SignalKind, SignalOutcome
from dispatcher.signals.service import receive_signal
from dispatcher.store.db import transaction
from dispatcher.store.tables import AlertGroupRow


def receive_alert(
    d: Dispatch,
    settings: Settings,
    *,
    group: str,
    event_id: str,
    firing: bool,
    summary: str,
    details: str,
    started_at: datetime | None,
    now: datetime,
    truncated: int = 0,
    severity: Severity = Severity.DOWN,
) -> SignalOutcome:
    """`firing`: an outage signal (opens or attaches); else resolved, for the incident this
    group raised only (202 `ignored` otherwise)."""
    if not firing and group_incident(d, group) is None:
        reason = "this alert group has no open incident"
        return SignalOutcome(202, {"action": "ignored", "reason": reason})
    signal = Signal(
        event_id=event_id,
        kind=SignalKind.OUTAGE if firing else SignalKind.RESOLVED,
        severity=severity if firing else None,
        summary=summary if firing else None,
        details=details,
        started_at=started_at,
    )

    def remember(session: Session, outcome: SignalOutcome) -> None:
        incident = outcome.body.get("incident")
        row = session.get(AlertGroupRow, group)
        if row is None:
            row = AlertGroupRow(key=group, updated_at=now)
            session.add(row)
        if firing and isinstance(incident, int):
            row.incident_id = incident
        row.truncated_alerts = truncated
        row.updated_at = now

    digest = hashlib.sha256(event_id.encode("utf-8")).hexdigest()
    return receive_signal(d, signal, body_sha256=digest, now=now, settings=settings, also=remember)


def group_incident(d: Dispatch, group: str) -> int | None:
    """The open incident this alert group raised, if it is still open."""
    with transaction(d.engine) as session:
        row = session.get(AlertGroupRow, group)
        current = open_incident_id(session)
    if row is None or row.incident_id is None or row.incident_id != current:
        return None
    return current
