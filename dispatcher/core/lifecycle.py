"""Incident lifecycle: triggered → acknowledged → resolved, or cancelled as a false alarm.

`open_incident` and `decide` are pure: (state, event, now) → Decision(new state, effects).
An event that does not fit the state raises `Rejected` and changes nothing. What time alone
brings about (paging, the fail-safe, the all-clear after recovery, the 2-hourly update) is
in `escalation.tick`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from dispatcher.core.cadence import next_update_after
from dispatcher.core.closing import cancel, resolve
from dispatcher.core.enums import Audience, Info, Release, Source, Status
from dispatcher.core.escalation import first_page, inform, stop_paging, tick
from dispatcher.core.kinds import NoticeKind
from dispatcher.core.model import (
    SYSTEM_ACTOR,
    Acknowledge,
    Cancel,
    ChannelsExhausted,
    Confirm,
    Decision,
    Effect,
    Event,
    Incident,
    Notify,
    PageFailed,
    Policy,
    PostUpdate,
    Record,
    Rejected,
    Resolve,
    SignalOutage,
    SignalResolved,
    SignalUpdate,
    Tick,
    Trigger,
)
from dispatcher.core.paging import channels_exhausted, page_failed
from dispatcher.core.text import clean_text, local_time

SEVERITIES = ("down", "degraded")


def open_incident(trigger: Trigger, now: datetime, policy: Policy) -> Decision:
    summary = clean_text("summary", trigger.summary, required=True, single_line=True)
    down_since = trigger.down_since or now
    if down_since > now:
        raise Rejected(f"down since {local_time(down_since)} is in the future")
    incident = Incident(
        status=Status.TRIGGERED,
        summary=summary,
        details=clean_text("details", trigger.details),
        impact=clean_text("impact", trigger.impact),
        guidance=clean_text("guidance", trigger.guidance, required=True),
        down_since=down_since,
        opened_at=now,
        release=trigger.release,
        source=trigger.source,
        severity=_severity(trigger.severity),
        drill=trigger.drill,
        drill_municipalities=trigger.drill and trigger.drill_municipalities,
        scope=tuple(sorted(set(trigger.scope))),
        scope_label=clean_text("scope", trigger.scope_label, single_line=True),
        scope_unknown=tuple(sorted(set(trigger.scope_unknown) & set(trigger.scope))),
    )
    if incident.scoped and not incident.scope_label:
        raise Rejected("a scoped incident needs a label that says which municipalities it hits")
    opened = Decision(incident, (Record("triggered", trigger.actor, summary), *_marks(incident)))
    if trigger.source is Source.SDS:
        opened += first_page(incident, now, policy)
    if trigger.release is Release.IMMEDIATE:
        return opened + inform(opened.incident, now, policy)
    if trigger.source is Source.CLI:
        held = Record("held", trigger.actor, "municipal notices held until confirmed")
        waiting = replace(opened.incident, hold_nudge_at=now + policy.page_interval)
        return Decision(waiting, (*opened.effects, held))
    alert = Notify(NoticeKind.VENDOR_ALERT, audience=Audience.VENDORS)
    waiting = replace(
        opened.incident, vendors_alerted=True, failsafe_at=now + policy.failsafe_after
    )
    return Decision(waiting, (*opened.effects, alert))


def _marks(incident: Incident) -> tuple[Record, ...]:
    """Timeline entries that say what kind of incident this is, when it is not the usual."""
    marks = []
    if incident.drill:
        reach = (
            "municipalities and vendors"
            if incident.drill_municipalities
            else "the on-call staff and the drill list only"
        )
        marks.append(Record("drill", SYSTEM_ACTOR, f"drill (ØVELSE): mail goes to {reach}"))
    if incident.scoped:
        text = f"affects {len(incident.scope)} municipalities: {incident.scope_label}"
        if incident.scope_unknown:
            text += f" ({len(incident.scope_unknown)} of them with an unregistered EOJ system)"
        marks.append(Record("scope", SYSTEM_ACTOR, text))
    return tuple(marks)


def decide(incident: Incident, event: Event, now: datetime, policy: Policy) -> Decision:
    if isinstance(event, Tick):
        return tick(incident, event, now, policy)
    if not incident.status.is_open:
        raise Rejected(f"the incident is {incident.status}; nothing more can be done with it")
    match event:
        case Acknowledge():
            return _acknowledge(incident, event, now, policy)
        case Confirm():
            return _confirm(incident, event, now, policy)
        case PostUpdate():
            return _update(incident, event, now, policy)
        case Resolve():
            return resolve(incident, event.actor, event.message, event.fmk_up_since, now)
        case Cancel():
            return cancel(incident, event, now)
        case SignalOutage():
            return _signal_outage(incident, event)
        case SignalUpdate():
            note = clean_text("message", event.text, required=True)
            return Decision(
                replace(incident, sds_note=note), (Record("sds_update", event.actor, note),)
            )
        case SignalResolved():
            return _signal_resolved(incident, event, now, policy)
        case ChannelsExhausted():
            return channels_exhausted(incident, event, now, policy)
        case PageFailed():
            return page_failed(incident, event)


def _severity(value: str) -> str:
    if value not in SEVERITIES:
        raise Rejected(f"severity {value!r} is not one of {', '.join(SEVERITIES)}")
    return value


def _acknowledge(incident: Incident, event: Acknowledge, now: datetime, policy: Policy) -> Decision:
    if incident.status is Status.ACKNOWLEDGED:
        raise Rejected(f"already acknowledged by {incident.owner}, who owns the incident")
    paged = incident.paged
    owned = replace(
        stop_paging(incident),
        status=Status.ACKNOWLEDGED,
        owner=event.actor,
        acknowledged_at=now,
    )
    how = " (by SMS reply)" if event.by_reply else ""
    effects: list[Effect] = [Record("acknowledged", event.actor, f"owner: {event.actor}{how}")]
    if paged is not None:
        effects.append(Notify(NoticeKind.OWNER, audience=paged, exclude=event.actor))
        if event.by_reply:
            receipt = Notify(NoticeKind.OWNER, audience=paged, only=event.actor, sms_only=True)
            effects.append(receipt)
    decision = Decision(owned, tuple(effects))
    if incident.release is Release.AFTER_ACK and not incident.municipalities_informed:
        return decision + inform(owned, now, policy)
    return decision


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
    confirmed = Decision(edited, (Record("confirmed", event.actor, "initial notice released"),))
    return confirmed + inform(edited, now, policy)


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
    updated = replace(
        incident,
        last_notice_at=now,
        next_update_at=next_update_after(now, policy),
        updates_sent=incident.updates_sent + 1,
    )
    record = Record("update", event.actor, message)
    return Decision(updated, (record, Notify(NoticeKind.UPDATE, message)))


def _signal_outage(incident: Incident, event: SignalOutage) -> Decision:
    summary = clean_text("summary", event.summary, required=True, single_line=True)
    severity = _severity(event.severity)
    if incident.all_clear_at is not None:
        down_again = replace(incident, all_clear_at=None, fmk_up_since=None, severity=severity)
        record = Record("flapping", event.actor, f"FMK down again before the all-clear: {summary}")
        return Decision(down_again, (record,))
    return Decision(replace(incident, severity=severity), (Record("signal", event.actor, summary),))


def _signal_resolved(
    incident: Incident, event: SignalResolved, now: datetime, policy: Policy
) -> Decision:
    up_since = min(event.up_since or now, now)
    if not policy.auto_resolve:
        ask = Notify(
            NoticeKind.ONCALL_INFO,
            audience=incident.paged or Audience.ONCALL,
            info=Info.SDS_RESOLVED_CONFIRM,
        )
        return Decision(incident, (Record("sds_resolved", event.actor, "awaiting the owner"), ask))
    if not policy.recovery_window:
        return resolve(incident, event.actor, None, up_since, now)
    recovering = replace(incident, fmk_up_since=up_since, all_clear_at=now + policy.recovery_window)
    when = local_time(now + policy.recovery_window)
    text = f"FMK up; all-clear at {when} (Copenhagen) unless it goes down again"
    return Decision(recovering, (Record("sds_resolved", event.actor, text),))
