"""Everything a notice template may use: built by the outbox, rendered by `render`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from dispatcher.contacts.model import Escalation, Municipality, Person, Vendor


class NoticeKind(StrEnum):
    # To the municipalities, each its own message, with the vendors in Cc (and one vendor copy).
    INITIAL = "initial"
    UPDATE = "update"
    ALL_CLEAR = "all_clear"
    CORRECTION = "correction"
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


@dataclass(frozen=True)
class IncidentFacts:
    """The incident as the notices describe it. Times are timezone-aware UTC."""

    number: int
    summary: str
    details: str
    impact: str
    guidance: str
    down_since: datetime
    resolved_at: datetime | None = None
    severity: str = "down"
    source: str = "cli"
    status: str = "triggered"
    owner: str | None = None
    municipalities_informed: bool = False
    sent_without_ack: bool = False
    failsafe_at: datetime | None = None
    drill: bool = False
    scope_label: str = ""
    # The official names of the affected municipalities; empty when all are affected.
    affected: tuple[str, ...] = ()


@dataclass(frozen=True)
class NoticeContext:
    kind: NoticeKind
    incident: IncidentFacts | None
    sequence: int
    issued_at: datetime
    next_update_at: datetime | None
    message: str | None
    recipient: Municipality | Vendor | Person
    municipality_count: int
    contacts: Escalation
    title: str | None = None
    ack_url: str | None = None
    page_round: int = 0
