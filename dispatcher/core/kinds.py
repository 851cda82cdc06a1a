"""The kinds of notice the core asks for; the templates and the outbox follow them."""

from __future__ import annotations

from enum import StrEnum


class NoticeKind(StrEnum):
    # To the municipalities, each its own message, with the vendors in Cc (and one vendor copy).
    INITIAL = "initial"
    UPDATE = "update"
    ALL_CLEAR = "all_clear"
    CORRECTION = "correction"
    # To the municipalities that have not confirmed the initial notice: once, threaded on it.
    REMINDER = "reminder"
    # To the EOJ vendors only: told at the same time as MedCom, before the municipalities.
    VENDOR_ALERT = "vendor_alert"
    # To MedCom's on-call staff and the KL fallback, one message per person.
    PAGE = "page"
    OWNER = "owner"
    ONCALL_INFO = "oncall_info"
    # About a planned maintenance window, to the municipalities in its scope (vendors in Cc,
    # one vendor copy), each with the window's calendar entry.
    MAINT_ANNOUNCED = "maint_announced"
    MAINT_REMINDER = "maint_reminder"
    MAINT_STARTED = "maint_started"
    MAINT_ENDED = "maint_ended"
    MAINT_EXTENDED = "maint_extended"
    MAINT_CHANGED = "maint_changed"
    MAINT_CANCELLED = "maint_cancelled"

    @property
    def municipal(self) -> bool:
        return self in MUNICIPAL_KINDS

    @property
    def maintenance(self) -> bool:
        return self.value.startswith("maint_")


MUNICIPAL_KINDS = frozenset(
    {NoticeKind.INITIAL, NoticeKind.UPDATE, NoticeKind.ALL_CLEAR, NoticeKind.CORRECTION}
)
