"""The 2-hourly municipal updates: when the next one is due."""

from __future__ import annotations

from datetime import datetime

from dispatcher.core.model import Incident, Policy


def next_update_after(notice_at: datetime, policy: Policy) -> datetime:
    """An update is due one interval after the previous municipal notice."""
    return notice_at + policy.update_interval


def update_due(incident: Incident, now: datetime) -> bool:
    """True when an open incident that municipalities know about owes them an update.

    However long ago it fell due (a daemon that was down for six hours), one update is owed,
    not one per missed interval: the caller schedules the next from `now`.
    """
    return (
        incident.status.is_open
        and incident.next_update_at is not None
        and incident.next_update_at <= now
    )
