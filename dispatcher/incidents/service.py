"""The commands duty staff, SDS and the scheduler give: each loads the incident under a row lock,
asks the pure core what to do, and commits the new state, the timeline and the outbox rows in
one transaction. A rejected command or a template error changes nothing."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, select
from sqlmodel import Session, col

from dispatcher.contacts.model import Registry
from dispatcher.core.lifecycle import decide, open_incident
from dispatcher.core.model import Decision, Event, Notify, Policy, Record, Rejected, Tick, Trigger
from dispatcher.incidents.mapping import new_row, to_core, write_state
from dispatcher.notices.render import NoticeRenderer
from dispatcher.outbox.enqueue import enqueue_notice
from dispatcher.store.db import transaction
from dispatcher.store.tables import IncidentRow, TimelineRow


class UnknownIncident(Rejected):
    """No incident has that number."""


@dataclass(frozen=True)
class Dispatch:
    """What applying an event needs besides the event."""

    engine: Engine
    registry: Registry
    renderer: NoticeRenderer
    policy: Policy


def trigger(d: Dispatch, event: Trigger, now: datetime) -> tuple[int, Decision]:
    """Open an incident; return its number and the decision taken."""
    decision = open_incident(event, now, d.policy)
    with transaction(d.engine) as session:
        row = new_row(decision.incident, uid=str(uuid.uuid4()), opened_by=event.actor)
        session.add(row)
        session.flush()
        _carry_out(session, d, row, decision, now)
        assert row.id is not None
        return row.id, decision


def apply(d: Dispatch, incident_id: int, event: Event, now: datetime) -> Decision:
    with transaction(d.engine) as session:
        row = session.scalar(
            select(IncidentRow).where(col(IncidentRow.id) == incident_id).with_for_update()
        )
        if row is None:
            raise UnknownIncident(f"there is no incident #{incident_id}")
        decision = decide(to_core(row), event, now, d.policy)
        write_state(row, decision.incident)
        _carry_out(session, d, row, decision, now)
        return decision


def tick_due(d: Dispatch, now: datetime) -> list[int]:
    """Send the updates that have fallen due; return the incidents that got one."""
    with transaction(d.engine) as session:
        due = list(
            session.scalars(
                select(col(IncidentRow.id)).where(col(IncidentRow.next_update_at) <= now)
            )
        )
    sent = []
    for incident_id in due:
        assert incident_id is not None
        if apply(d, incident_id, Tick(), now).notices:
            sent.append(incident_id)
    return sent


def next_update_due(engine: Engine) -> datetime | None:
    """When the earliest scheduled municipal update falls due, if any incident has one."""
    with transaction(engine) as session:
        return session.scalar(select(func.min(col(IncidentRow.next_update_at))))


def _carry_out(
    session: Session, d: Dispatch, row: IncidentRow, decision: Decision, now: datetime
) -> None:
    assert row.id is not None
    for effect in decision.effects:
        if isinstance(effect, Record):
            session.add(
                TimelineRow(
                    incident_id=row.id,
                    at=now,
                    actor=effect.actor,
                    kind=effect.kind,
                    text=effect.text,
                )
            )
        elif isinstance(effect, Notify):
            actor = next((e.actor for e in decision.effects if isinstance(e, Record)), "dispatcher")
            notice = enqueue_notice(
                session,
                row=row,
                incident=decision.incident,
                notify=effect,
                actor=actor,
                now=now,
                registry=d.registry,
                renderer=d.renderer,
            )
            text = (
                f"{effect.kind} notice #{notice.sequence} queued for "
                f"{len(d.registry.municipalities)} municipalities, "
                f"{len(d.registry.vendors)} vendor copies"
            )
            session.add(
                TimelineRow(incident_id=row.id, at=now, actor=actor, kind="notice", text=text)
            )
