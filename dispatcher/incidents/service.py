"""The commands duty staff, SDS and the scheduler give: each loads the incident under a row lock,
asks the pure core what to do, and commits the new state, the timeline and the outbox rows in
one transaction. A rejected command or a template error changes nothing."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import Engine, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from dispatcher.config import DEVELOPMENT_LINK_SECRET
from dispatcher.contacts.model import Registry
from dispatcher.core.enums import Info, Release
from dispatcher.core.lifecycle import decide, open_incident
from dispatcher.core.maintenance import MaintenancePolicy
from dispatcher.core.model import (
    Decision,
    Effect,
    Event,
    Incident,
    Notify,
    Policy,
    Record,
    Rejected,
    Tick,
    Trigger,
)
from dispatcher.incidents.mapping import new_row, open_key, to_core, write_state
from dispatcher.incidents.receipts import call_list_text, observe
from dispatcher.links import ack_url, make_ack_token, make_receipt_token, receipt_url
from dispatcher.notices.render import NoticeRenderer
from dispatcher.outbox.enqueue import enqueue_notice
from dispatcher.outbox.relay import RELAY
from dispatcher.store.db import transaction
from dispatcher.store.tables import IncidentRow, RelayRow, TimelineRow

log = structlog.get_logger(__name__)


class UnknownIncident(Rejected):
    """No incident has that number."""


class AlreadyOpen(Rejected):
    """An FMK incident (or drill) is open already; there is never a second one."""

    def __init__(self, incident_id: int | None, *, drill: bool = False) -> None:
        which = f"#{incident_id}" if incident_id is not None else "another"
        if drill:
            message = f"drill {which} is still open: resolve or cancel it before the next drill"
        else:
            message = f"FMK incident {which} is already open: update it instead of opening a second"
        super().__init__(message)
        self.incident_id = incident_id


@dataclass(frozen=True)
class Dispatch:
    """What applying an event needs besides the event."""

    engine: Engine
    registry: Registry
    renderer: NoticeRenderer
    policy: Policy
    public_url: str = "http://127.0.0.1:8080"
    link_secret: str = DEVELOPMENT_LINK_SECRET
    standard_guidance: str = ""
    maintenance: MaintenancePolicy = field(default_factory=MaintenancePolicy)
    # When the municipalities are told of an incident that an SDS outage opens.
    release: Release = Release.AFTER_CONFIRM


def trigger(d: Dispatch, event: Trigger, now: datetime) -> tuple[int, Decision]:
    """Open an incident; return its number and the decision taken."""
    with transaction(d.engine) as session:
        return open_in(session, d, event, now)


def open_in(session: Session, d: Dispatch, event: Trigger, now: datetime) -> tuple[int, Decision]:
    """`trigger` inside the caller's transaction. Refused while an FMK incident is open (or,
    for a drill, while a drill is open: a drill and a real outage may run side by side)."""
    decision = open_incident(event, now, d.policy)
    current = open_incident_id(session, drill=event.drill)
    if current is not None:
        raise AlreadyOpen(current, drill=event.drill)
    row = new_row(decision.incident, uid=str(uuid.uuid4()), opened_by=event.actor)
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:  # another replica or command opened one just now
        raise AlreadyOpen(None, drill=event.drill) from exc
    _carry_out(session, d, row, decision, now)
    assert row.id is not None
    return row.id, decision


def apply(
    d: Dispatch,
    incident_id: int,
    event: Event,
    now: datetime,
    *,
    also: Callable[[Session], None] | None = None,
) -> Decision:
    """Apply `event`; `also` runs in the same transaction (e.g. to mark a link as used)."""
    with transaction(d.engine) as session:
        decision = apply_in(session, d, incident_id, event, now)
        if also is not None:
            also(session)
        return decision


def apply_in(
    session: Session, d: Dispatch, incident_id: int, event: Event, now: datetime
) -> Decision:
    row = _locked(session, incident_id)
    if isinstance(event, Tick):
        event = replace(event, seen=observe(session, incident_id))
    decision = decide(to_core(row), event, now, d.policy)
    write_state(row, decision.incident)
    _carry_out(session, d, row, decision, now)
    return decision


def react_in(
    session: Session,
    d: Dispatch,
    incident_id: int,
    react: Callable[[Incident], tuple[Effect, ...]],
    now: datetime,
) -> Decision:
    """Carry out the effects `react` finds for the incident, which they leave as it is (a
    bounce's timeline entry and the owner's notice), under the incident's row lock."""
    row = _locked(session, incident_id)
    incident = to_core(row)
    decision = Decision(incident, react(incident))
    _carry_out(session, d, row, decision, now)
    return decision


def _locked(session: Session, incident_id: int) -> IncidentRow:
    row = session.scalar(
        select(IncidentRow).where(col(IncidentRow.id) == incident_id).with_for_update()
    )
    if row is None:
        raise UnknownIncident(f"there is no incident #{incident_id}")
    return row


def open_incident_id(session: Session, *, drill: bool = False) -> int | None:
    """The open FMK incident, or with `drill` the open drill."""
    key = col(IncidentRow.open_key) == open_key(drill=drill)
    return session.scalar(select(col(IncidentRow.id)).where(key))


_DUE_COLUMNS = (
    "next_update_at",
    "next_page_at",
    "failsafe_at",
    "all_clear_at",
    "reminder_at",
    "call_list_at",
    "hold_nudge_at",
)


def _due_times() -> list[Any]:
    return [col(getattr(IncidentRow, name)) for name in _DUE_COLUMNS]


def tick_due(d: Dispatch, now: datetime) -> list[int]:
    """Carry out what has fallen due (pages, fail-safe, all-clear, updates, the follow-up of
    the silent, and the owner's word of a failing relay); return the incidents that sent
    anything."""
    with transaction(d.engine) as session:
        relay_overdue = _relay_alert_due(session, d.policy)
        conditions = [c <= now for c in _due_times()]
        if relay_overdue is not None and relay_overdue <= now:
            conditions.append(col(IncidentRow.open_key).is_not(None))
        due = list(session.scalars(select(col(IncidentRow.id)).where(or_(*conditions))))
    sent = []
    for incident_id in due:
        assert incident_id is not None
        if apply(d, incident_id, Tick(), now).notices:
            sent.append(incident_id)
    return sent


def next_due(engine: Engine, policy: Policy, now: datetime) -> datetime | None:
    """When the next timed step falls due, if any, or the owners are to be told that the
    relay has failed too long (only while that lies ahead: once it has passed, every tick
    looks at the open incidents, and a wake-up in the past would wake the cadence at once,
    again and again, for as long as the relay fails)."""
    with transaction(engine) as session:
        times = [session.scalar(select(func.min(c))) for c in _due_times()]
        relay_due = _relay_alert_due(session, policy)
        if relay_due is not None and relay_due > now:
            times.append(relay_due)
    present = [t for t in times if t is not None]
    return min(present) if present else None


def _relay_alert_due(session: Session, policy: Policy) -> datetime | None:
    """When a failing relay has failed long enough to tell the owners of open incidents."""
    relay = session.get(RelayRow, RELAY)
    if relay is None or relay.failing_since is None:
        return None
    return relay.failing_since + policy.relay_alert_after


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
            notify = effect
            if effect.info is Info.CALL_LIST:
                text = call_list_text(session, row.id, d.registry, effect.municipalities)
                notify = replace(effect, message=text)
            queued = enqueue_notice(
                session,
                row=row,
                incident=decision.incident,
                notify=notify,
                actor=actor,
                now=now,
                registry=d.registry,
                renderer=d.renderer,
                ack_url=_ack_links(d, row.id, now),
                receipt_url=_receipt_links(d, row.id, now),
            )
            text = queued.describe()
            log.info(
                "notice.queued",
                incident_id=row.id,
                notice_id=queued.notice.id,
                kind=str(effect.kind),
                audience=str(effect.audience),
                messages=len(queued.to),
            )
            session.add(
                TimelineRow(incident_id=row.id, at=now, actor=actor, kind="notice", text=text)
            )


def _ack_links(d: Dispatch, incident_id: int, now: datetime) -> Callable[[str], str]:
    def link(person: str) -> str:
        token = make_ack_token(d.link_secret, incident_id=incident_id, person=person, issued_at=now)
        return ack_url(d.public_url, token)

    return link


def _receipt_links(d: Dispatch, incident_id: int, now: datetime) -> Callable[[int], str]:
    def link(code: int) -> str:
        token = make_receipt_token(d.link_secret, incident_id=incident_id, code=code, issued_at=now)
        return receipt_url(d.public_url, incident_id, token)

    return link
