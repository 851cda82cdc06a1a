"""Incident lifecycle: triggered → acknowledged → resolved, or cancelled as a false alarm.

`open_incident` and `decide` are pure: (state, event, now) → Decision(new state, effects).
An event that does not fit the state raises `Rejected` and changes nothing.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from dispatcher.core.cadence import next_update_after, update_due
from dispatcher.core.model import (
    Acknowledge,
    Cancel,
    Confirm,
    Decision,
    Effect,
    Event,
    Incident,
    Notify,
    Policy,
    PostUpdate,
    Record,
    Rejected,
    Resolve,
    Status,
    Tick,
    Trigger,
)
from dispatcher.core.text import clean_text
from dispatcher.notices.context import NoticeKind


def open_incident(trigger: Trigger, now: datetime, policy: Policy) -> Decision:
    summary = clean_text("summary", trigger.summary, required=True, single_line=True)
    down_since = trigger.down_since or now
    if down_since > now:
        raise Rejected(f"down since {down_since.isoformat()} is in the future")
    incident = Incident(
        status=Status.TRIGGERED,
        summary=summary,
        details=clean_text("details", trigger.details),
        impact=clean_text("impact", trigger.impact),
        guidance=clean_text("guidance", trigger.guidance, required=True),
        down_since=down_since,
        opened_at=now,
        hold=trigger.hold,
    )
    opened = Record("triggered", trigger.actor, summary)
    if trigger.hold:
        held = Record("held", trigger.actor, "municipal notices held until confirmed")
        return Decision(incident, (opened, held))
    informed, notice = _inform(incident, now, policy)
    return Decision(informed, (opened, *notice))


def decide(incident: Incident, event: Event, now: datetime, policy: Policy) -> Decision:
    if isinstance(event, Tick):
        return _tick(incident, event, now, policy)
    if not incident.status.is_open:
        raise Rejected(f"the incident is {incident.status}; nothing more can be done with it")
    match event:
        case Acknowledge():
            return _acknowledge(incident, event, now)
        case Confirm():
            return _confirm(incident, event, now, policy)
        case PostUpdate():
            return _update(incident, event, now, policy)
        case Resolve():
            return _resolve(incident, event, now)
        case Cancel():
            return _cancel(incident, event, now)


def _inform(incident: Incident, now: datetime, policy: Policy) -> tuple[Incident, list[Effect]]:
    informed = replace(
        incident,
        hold=False,
        informed_at=now,
        last_notice_at=now,
        next_update_at=next_update_after(now, policy),
    )
    return informed, [Notify(NoticeKind.INITIAL)]


def _acknowledge(incident: Incident, event: Acknowledge, now: datetime) -> Decision:
    if incident.status is Status.ACKNOWLEDGED:
        raise Rejected(f"already acknowledged by {incident.owner}, who owns the incident")
    owned = replace(incident, status=Status.ACKNOWLEDGED, owner=event.actor, acknowledged_at=now)
    return Decision(owned, (Record("acknowledged", event.actor, f"owner: {event.actor}"),))


def _confirm(incident: Incident, event: Confirm, now: datetime, policy: Policy) -> Decision:
    if incident.municipalities_informed:
        raise Rejected("the initial notice has already been sent; use an update instead")
    edited = replace(
        incident,
        summary=_edit("summary", incident.summary, event.summary, single_line=True),
        details=_edit("details", incident.details, event.details),
        impact=_edit("impact", incident.impact, event.impact),
        guidance=_edit("guidance", incident.guidance, event.guidance, required=True),
    )
    informed, notice = _inform(edited, now, policy)
    return Decision(
        informed, (Record("confirmed", event.actor, "initial notice released"), *notice)
    )


def _edit(
    name: str, old: str, new: str | None, *, required: bool = False, single_line: bool = False
) -> str:
    if new is None:
        return old
    return clean_text(name, new, required=required, single_line=single_line)


def _update(incident: Incident, event: PostUpdate, now: datetime, policy: Policy) -> Decision:
    message = clean_text("message", event.message, required=True)
    if not incident.municipalities_informed:
        raise Rejected(
            "the municipalities have not been told yet (notices are held); "
            "confirm the initial notice first, editing its text if needed"
        )
    return _send_update(incident, now, policy, Record("update", event.actor, message), message)


def _send_update(
    incident: Incident, now: datetime, policy: Policy, record: Record, message: str | None
) -> Decision:
    updated = replace(
        incident,
        last_notice_at=now,
        next_update_at=next_update_after(now, policy),
        updates_sent=incident.updates_sent + 1,
    )
    return Decision(updated, (record, Notify(NoticeKind.UPDATE, message)))


def _tick(incident: Incident, event: Tick, now: datetime, policy: Policy) -> Decision:
    if not update_due(incident, now):
        return Decision(incident)
    record = Record("update", event.actor, "scheduled update: no news")
    return _send_update(incident, now, policy, record, None)


def _resolve(incident: Incident, event: Resolve, now: datetime) -> Decision:
    up_since = event.fmk_up_since or now
    if up_since > now or up_since < incident.down_since:
        raise Rejected(
            f"FMK up since {up_since.isoformat()} must lie between the outage start "
            f"({incident.down_since.isoformat()}) and now"
        )
    message = clean_text("message", event.message or "") or None
    resolved = replace(incident, status=Status.RESOLVED, closed_at=up_since, next_update_at=None)
    effects: list[Effect] = [Record("resolved", event.actor, message or "FMK runs again")]
    if incident.municipalities_informed:
        effects.append(Notify(NoticeKind.ALL_CLEAR, message))
    return Decision(resolved, tuple(effects))


def _cancel(incident: Incident, event: Cancel, now: datetime) -> Decision:
    reason = clean_text("reason", event.reason, required=True)
    cancelled = replace(incident, status=Status.CANCELLED, closed_at=now, next_update_at=None)
    effects: list[Effect] = [Record("cancelled", event.actor, reason)]
    if incident.municipalities_informed:
        effects.append(Notify(NoticeKind.CORRECTION, reason))
    return Decision(cancelled, tuple(effects))
