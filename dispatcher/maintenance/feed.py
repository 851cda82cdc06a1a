"""The subscribable calendar of maintenance windows: upcoming and recent ones, each the same
entry (UID, SEQUENCE) as in the notices, cancelled ones marked so subscribers drop them."""

from __future__ import annotations

from datetime import datetime

from dispatcher.contacts.model import Registry
from dispatcher.maintenance.calendar import Entry, Method, calendar
from dispatcher.maintenance.notices import calendar_uid
from dispatcher.store.tables import MaintenanceRow

FEED_NAME = "Planlagt vedligehold af FMK"


def feed(rows: list[MaintenanceRow], registry: Registry, now: datetime) -> bytes:
    esc = registry.escalation
    domain = esc.sender.email.rpartition("@")[2]
    entries = [
        Entry(
            uid=calendar_uid(row, domain),
            sequence=row.sequence,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            description=row.text,
            stamp=now,
            cancelled=row.status == "cancelled",
            scope_label=row.scope_label or "",
        )
        for row in rows
    ]
    return calendar(entries, method=Method.PUBLISH, organizer=esc.sender, name=FEED_NAME)
