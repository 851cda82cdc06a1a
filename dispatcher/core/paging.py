"""What the core decides when a page does not get through: a failed SMS is recorded and the
other on-call staff are told; when every channel to a person has failed, the next level is
paged at once instead of when the page interval runs out."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from dispatcher.core.enums import Audience, Info, Status
from dispatcher.core.kinds import NoticeKind
from dispatcher.core.model import (
    ChannelsExhausted,
    Decision,
    Incident,
    Notify,
    PageFailed,
    Policy,
    Record,
)


def page_failed(incident: Incident, event: PageFailed) -> Decision:
    record = Record("page_failed", event.actor, f"SMS to {event.person} failed: {event.reason}")
    if incident.status is not Status.TRIGGERED:
        return Decision(incident, (record,))
    tell = Notify(
        NoticeKind.ONCALL_INFO,
        event.reason,
        audience=Audience.ONCALL,
        exclude=event.person,
        info=Info.PAGE_FAILED,
    )
    return Decision(incident, (record, tell))


def channels_exhausted(
    incident: Incident, event: ChannelsExhausted, now: datetime, policy: Policy
) -> Decision:
    """Escalate now if only the on-call staff have been paged and nobody has acknowledged;
    otherwise the timeline says so and the plan goes on as it was."""
    what = f"every channel to {event.person} failed"
    if incident.status is not Status.TRIGGERED or incident.paged is not Audience.ONCALL:
        return Decision(incident, (Record("channels_exhausted", event.actor, what),))
    number = incident.page_round + 1
    escalated = replace(incident, page_round=number, next_page_at=now + policy.page_interval)
    text = f"{what}: page {number} to the on-call staff and the fallback now, not at the interval"
    page = Notify(NoticeKind.PAGE, audience=Audience.ESCALATION)
    return Decision(escalated, (Record("channels_exhausted", event.actor, text), page))
