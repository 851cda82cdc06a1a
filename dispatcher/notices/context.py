"""Everything a notice template may use: built by the outbox, rendered by `render`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from dispatcher.contacts.model import Escalation, Municipality, Person, Vendor
from dispatcher.core.kinds import NoticeKind


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
    # Those of `affected` told only because their EOJ system is not registered.
    unknown_eoj: tuple[str, ...] = ()


@dataclass(frozen=True)
class WindowFacts:
    """A planned maintenance window as its notices describe it. Times are timezone-aware UTC."""

    number: int
    text: str
    starts_at: datetime
    ends_at: datetime
    scope_label: str = ""
    # The official names of the municipalities in scope; empty when all are.
    affected: tuple[str, ...] = ()
    lead: timedelta | None = None  # a reminder: how long before the start
    previous_starts_at: datetime | None = None  # a change: the times before it
    previous_ends_at: datetime | None = None
    dropped: bool = False  # to municipalities that are no longer in the window's scope
    feed_url: str = ""


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
    maintenance: WindowFacts | None = None
    receipt_url: str | None = None  # "Bekræft modtagelse", in a municipality's notice
