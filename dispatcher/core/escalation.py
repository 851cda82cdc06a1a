"""What time alone brings about: paging until someone acknowledges, the fail-safe that tells the
municipalities anyway, the all-clear once FMK has stayed up, and the 2-hourly update.

The plan, with the default policy, for an SDS signal at t:
- t: page the on-call pair, tell the EOJ vendors;
- t+15 min, no acknowledgement: page the on-call pair and the KL fallback;
- t+30 min, municipalities not yet told (no acknowledgement, or no confirmation): the
  fail-safe sends the initial notice; paging goes on every 15 min until someone acknowledges.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from dispatcher.core.cadence import next_update_after, update_due
from dispatcher.core.closing import resolve
from dispatcher.core.enums import Audience, Status
from dispatcher.core.followup import call_list, due, nudge_held, relay_alert, remind
from dispatcher.core.kinds import NoticeKind
from dispatcher.core.model import SYSTEM_ACTOR, Decision, Incident, Notify, Policy, Record, Tick


def first_page(incident: Incident, now: datetime, policy: Policy) -> Decision:
    paged = replace(incident, page_round=1, next_page_at=now + policy.page_interval)
    record = Record("paged", SYSTEM_ACTOR, "page 1: the on-call pair")
    return Decision(paged, (record, Notify(NoticeKind.PAGE, audience=Audience.ONCALL)))


def stop_paging(incident: Incident) -> Incident:
    return replace(incident, next_page_at=None)


def inform(incident: Incident, now: datetime, policy: Policy) -> Decision:
    """The initial notice to the municipalities, which starts the 2-hourly updates and the
    follow-up of those that do not confirm it."""
    informed = replace(
        incident,
        informed_at=now,
        last_notice_at=now,
        next_update_at=next_update_after(now, policy),
        failsafe_at=None,
        hold_nudge_at=None,
        reminder_at=now + policy.reminder_after if policy.reminder_after else None,
        call_list_at=now + policy.call_list_after if policy.call_list_after else None,
    )
    return Decision(informed, (Notify(NoticeKind.INITIAL),))


def tick(incident: Incident, event: Tick, now: datetime, policy: Policy) -> Decision:
    """Everything that has fallen due by `now`, each step once however late."""
    decision = Decision(incident)
    if not incident.status.is_open:
        return decision
    for step in (_page, _failsafe, _all_clear, _update, nudge_held):
        decision += step(decision.incident, now, policy)
        if not decision.incident.status.is_open:
            return decision
    for observed in (remind, call_list, relay_alert):
        decision += observed(decision.incident, event.seen, now, policy)
    return decision


def _page(incident: Incident, now: datetime, policy: Policy) -> Decision:
    if incident.status is not Status.TRIGGERED or not due(incident.next_page_at, now):
        return Decision(incident)
    number = incident.page_round + 1
    paged = replace(incident, page_round=number, next_page_at=now + policy.page_interval)
    record = Record("paged", SYSTEM_ACTOR, f"page {number}: the on-call pair and the fallback")
    return Decision(paged, (record, Notify(NoticeKind.PAGE, audience=Audience.ESCALATION)))


def _failsafe(incident: Incident, now: datetime, policy: Policy) -> Decision:
    if incident.municipalities_informed or not due(incident.failsafe_at, now):
        return Decision(incident)
    unacknowledged = incident.status is Status.TRIGGERED
    why = "no acknowledgement" if unacknowledged else "the owner did not confirm"
    record = Record("failsafe", SYSTEM_ACTOR, f"municipalities told without waiting: {why}")
    marked = replace(incident, sent_without_ack=unacknowledged)
    return Decision(marked, (record,)) + inform(marked, now, policy)


def _all_clear(incident: Incident, now: datetime, policy: Policy) -> Decision:
    if not due(incident.all_clear_at, now):
        return Decision(incident)
    return resolve(incident, SYSTEM_ACTOR, None, incident.fmk_up_since, now)


def _update(incident: Incident, now: datetime, policy: Policy) -> Decision:
    if not update_due(incident, now):
        return Decision(incident)
    note = incident.sds_note
    updated = replace(
        incident,
        last_notice_at=now,
        next_update_at=next_update_after(now, policy),
        updates_sent=incident.updates_sent + 1,
        sds_note=None,
    )
    text = f"scheduled update: {note}" if note else "scheduled update: no news"
    return Decision(
        updated, (Record("update", SYSTEM_ACTOR, text), Notify(NoticeKind.UPDATE, note))
    )
