"""A realistic example maintenance window, for previewing its notices without a stored one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dispatcher.contacts.model import Municipality, Person, Registry, Vendor
from dispatcher.core.kinds import NoticeKind
from dispatcher.notices.context import NoticeContext, WindowFacts

# Saturday 28 March 2026 22:00 to Sunday 29 March 04:00 in Copenhagen: across the night the
# clocks go forward, so a preview shows the times on both sides of the change.
SAMPLE_STARTS_AT = datetime(2026, 3, 28, 21, 0, tzinfo=UTC)
SAMPLE_ENDS_AT = datetime(2026, 3, 29, 2, 0, tzinfo=UTC)
SAMPLE_ANNOUNCED_AT = SAMPLE_STARTS_AT - timedelta(days=7, hours=12)
SAMPLE_FEED_URL = "http://127.0.0.1:8080/vedligehold.ics"
SAMPLE_TEXT = (
    "SDS opgraderer FMK's databaser. FMK kan ikke bruges, mens det står på: opslag og "
    "ændringer af medicinkort fejler.\n\n"
    "Doseret medicin kan gives som planlagt. Notér ændringer på papir, og indtast dem i FMK, "
    "når vedligeholdet er afsluttet."
)
_ISSUED = {
    NoticeKind.MAINT_ANNOUNCED: SAMPLE_ANNOUNCED_AT,
    NoticeKind.MAINT_REMINDER: SAMPLE_STARTS_AT - timedelta(hours=24),
    NoticeKind.MAINT_STARTED: SAMPLE_STARTS_AT,
    NoticeKind.MAINT_ENDED: SAMPLE_ENDS_AT + timedelta(hours=1),
    NoticeKind.MAINT_EXTENDED: SAMPLE_ENDS_AT - timedelta(minutes=20),
    NoticeKind.MAINT_CHANGED: SAMPLE_ANNOUNCED_AT + timedelta(days=2),
    NoticeKind.MAINT_CANCELLED: SAMPLE_ANNOUNCED_AT + timedelta(days=3),
}


def sample_window_context(
    kind: NoticeKind, recipient: Municipality | Vendor | Person, registry: Registry
) -> NoticeContext:
    """Sample window #1 as notice `kind` presents it to `recipient`."""
    ends_at = SAMPLE_ENDS_AT
    previous_starts_at = previous_ends_at = None
    if kind is NoticeKind.MAINT_EXTENDED:
        previous_ends_at, ends_at = SAMPLE_ENDS_AT, SAMPLE_ENDS_AT + timedelta(hours=1)
    elif kind is NoticeKind.MAINT_CHANGED:
        previous_starts_at = SAMPLE_STARTS_AT - timedelta(days=7)
        previous_ends_at = SAMPLE_ENDS_AT - timedelta(days=7)
    return NoticeContext(
        kind=kind,
        incident=None,
        sequence=1,
        issued_at=_ISSUED[kind],
        next_update_at=None,
        message=None,
        recipient=recipient,
        municipality_count=len(registry.municipalities),
        contacts=registry.escalation,
        maintenance=WindowFacts(
            number=1,
            text=SAMPLE_TEXT,
            starts_at=SAMPLE_STARTS_AT,
            ends_at=ends_at,
            lead=timedelta(hours=24) if kind is NoticeKind.MAINT_REMINDER else None,
            previous_starts_at=previous_starts_at,
            previous_ends_at=previous_ends_at,
            feed_url=SAMPLE_FEED_URL,
        ),
    )
