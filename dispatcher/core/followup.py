"""What the receipts, the relay and a held notice bring about as time passes.

With the default policy, after the initial notice at t:
- t+30 min: one reminder to each municipality that has neither confirmed nor bounced (to its
  alternate address when the registry has one), threaded on the incident's chain;
- t+60 min: the owner (else the on-call pair) gets the list of municipalities to call: every
  one that has not confirmed, the unreachable first.
While the relay fails: once deliveries of an open incident have waited behind a failing relay
for 5 minutes, the owner (else the on-call pair) is told, once per failure.
A notice held with `--hold`: its owner (else whoever opened it, else the on-call pair) is
reminded every page interval; from the fail-safe time on, the reminder goes up the chain
(the on-call pair and the fallback) until someone confirms or closes the incident. The
municipalities are never told without that confirmation: holding was a person's decision.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from dispatcher.core.enums import Audience, Info
from dispatcher.core.kinds import NoticeKind
from dispatcher.core.model import SYSTEM_ACTOR, Decision, Incident, Notify, Policy, Record
from dispatcher.core.receipts import Seen, silent, unconfirmed
from dispatcher.core.text import local_time


def due(moment: datetime | None, now: datetime) -> bool:
    return moment is not None and moment <= now


def remind(incident: Incident, seen: Seen, now: datetime, policy: Policy) -> Decision:
    """The one reminder to the silent municipalities, when it falls due."""
    if not due(incident.reminder_at, now):
        return Decision(incident)
    codes = silent(seen.receipts)
    done = replace(incident, reminder_at=None)
    record = Record(
        "reminder", SYSTEM_ACTOR, f"reminder to {len(codes)} municipalities that have not confirmed"
    )
    if not codes:
        return Decision(done, (record,))
    return Decision(done, (record, Notify(NoticeKind.REMINDER, municipalities=codes)))


def call_list(incident: Incident, seen: Seen, now: datetime, policy: Policy) -> Decision:
    """The list of municipalities to call, to the owner, when it falls due."""
    if not due(incident.call_list_at, now):
        return Decision(incident)
    codes = unconfirmed(seen.receipts)
    done = replace(incident, call_list_at=None)
    if not codes:
        return Decision(done, (Record("call_list", SYSTEM_ACTOR, "every municipality confirmed"),))
    record = Record("call_list", SYSTEM_ACTOR, f"{len(codes)} municipalities to call")
    notify = Notify(
        NoticeKind.ONCALL_INFO, audience=Audience.OWNER, info=Info.CALL_LIST, municipalities=codes
    )
    return Decision(done, (record, notify))


def relay_alert(incident: Incident, seen: Seen, now: datetime, policy: Policy) -> Decision:
    """Tell the owner once per relay failure that has held this incident's mail too long."""
    relay = seen.relay
    if (
        relay is None
        or not relay.waiting
        or incident.relay_alerted_for == relay.failing_since
        or now - relay.failing_since < policy.relay_alert_after
    ):
        return Decision(incident)
    since = local_time(relay.failing_since)
    text = f"relay failing since {since}: {relay.reply}; {relay.waiting} deliveries waiting"
    notify = Notify(
        NoticeKind.ONCALL_INFO,
        f"Relæet har fejlet siden {since}: {relay.reply}\n"
        f"{relay.waiting} mails til dette nedbrud venter.",
        audience=Audience.OWNER,
        info=Info.RELAY_FAILING,
    )
    alerted = replace(incident, relay_alerted_for=relay.failing_since)
    return Decision(alerted, (Record("relay_failing", SYSTEM_ACTOR, text), notify))


def nudge_held(incident: Incident, now: datetime, policy: Policy) -> Decision:
    """A held notice that nobody has confirmed: remind the owner, later the whole chain."""
    if incident.municipalities_informed or not due(incident.hold_nudge_at, now):
        return Decision(incident)
    nudged = replace(incident, hold_nudge_at=now + policy.page_interval)
    if now < incident.opened_at + policy.failsafe_after:
        record = Record("held", SYSTEM_ACTOR, "the held notice waits: owner reminded")
        notify = Notify(NoticeKind.ONCALL_INFO, audience=Audience.OWNER, info=Info.HELD_WAITING)
    else:
        record = Record("held", SYSTEM_ACTOR, "the held notice still waits: chain told")
        notify = Notify(
            NoticeKind.ONCALL_INFO, audience=Audience.ESCALATION, info=Info.HELD_OVERDUE
        )
    return Decision(nudged, (record, notify))
