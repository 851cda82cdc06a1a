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

    @property
    def municipal(self) -> bool:
        return self in MUNICIPAL_KINDS


MUNICIPAL_KINDS = frozenset(
    {NoticeKind.INITIAL, NoticeKind.UPDATE, NoticeKind.ALL_CLEAR, NoticeKind.CORRECTION}
)
