"""Closing an incident: resolved (FMK runs again) or cancelled (a false alarm).

Whoever was told gets the all-clear or a correction: the municipalities (with the vendors in
Cc) if they were informed, else the vendors alone if they were alerted; and if nobody had
acknowledged, the people who were paged are told it is over.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from dispatcher.core.enums import Audience, Info, Status
from dispatcher.core.kinds import NoticeKind
from dispatcher.core.model import Cancel, Decision, Effect, Incident, Notify, Record, Rejected
from dispatcher.core.text import clean_text, local_time


def resolve(
    incident: Incident, actor: str, message: str | None, up_since: datetime | None, now: datetime
) -> Decision:
    """Close the incident: the all-clear to whoever was told, and word to whoever was paged."""
    fmk_up = up_since or now
    if fmk_up > now or fmk_up < incident.down_since:
        raise Rejected(
            f"FMK up since {local_time(fmk_up)} must lie between the outage start "
            f"({local_time(incident.down_since)}) and now ({local_time(now)}), Copenhagen time"
        )
    note = clean_text("message", message or "") or None
    resolved = replace(
        _close(incident), status=Status.RESOLVED, closed_at=fmk_up, fmk_up_since=fmk_up
    )
    effects: list[Effect] = [Record("resolved", actor, note or "FMK runs again")]
    effects += _closing_notices(incident, NoticeKind.ALL_CLEAR, note, Info.RESOLVED_UNACKNOWLEDGED)
    return Decision(resolved, tuple(effects))


def cancel(incident: Incident, event: Cancel, now: datetime) -> Decision:
    reason = clean_text("reason", event.reason, required=True)
    cancelled = replace(_close(incident), status=Status.CANCELLED, closed_at=now)
    effects: list[Effect] = [Record("cancelled", event.actor, reason)]
    effects += _closing_notices(
        incident, NoticeKind.CORRECTION, reason, Info.CANCELLED_UNACKNOWLEDGED
    )
    return Decision(cancelled, tuple(effects))


def _close(incident: Incident) -> Incident:
    return replace(
        incident,
        next_page_at=None,
        failsafe_at=None,
        next_update_at=None,
        all_clear_at=None,
        reminder_at=None,
        call_list_at=None,
        hold_nudge_at=None,
    )


def _closing_notices(
    incident: Incident, kind: NoticeKind, note: str | None, unacknowledged: Info
) -> list[Effect]:
    effects: list[Effect] = []
    if incident.municipalities_informed:
        effects.append(Notify(kind, note))
    elif incident.vendors_alerted:
        effects.append(Notify(kind, note, audience=Audience.VENDORS))
    if incident.status is Status.TRIGGERED and incident.paged is not None:
        effects.append(
            Notify(NoticeKind.ONCALL_INFO, note, audience=incident.paged, info=unacknowledged)
        )
    return effects
