"""Everything a notice template may use: built by the outbox, rendered by `render`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from dispatcher.contacts.model import Escalation, Municipality, Vendor


class NoticeKind(StrEnum):
    INITIAL = "initial"
    UPDATE = "update"
    ALL_CLEAR = "all_clear"
    CORRECTION = "correction"


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


@dataclass(frozen=True)
class NoticeContext:
    kind: NoticeKind
    incident: IncidentFacts
    sequence: int
    issued_at: datetime
    next_update_at: datetime | None
    message: str | None
    recipient: Municipality | Vendor
    municipality_count: int
    contacts: Escalation
