"""The incident as the core sees it, the events that change it and the effects they cause."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from dispatcher.notices.context import NoticeKind

SYSTEM_ACTOR = "dispatcher"


class Status(StrEnum):
    TRIGGERED = "triggered"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    CANCELLED = "cancelled"

    @property
    def is_open(self) -> bool:
        return self in (Status.TRIGGERED, Status.ACKNOWLEDGED)


@dataclass(frozen=True)
class Policy:
    update_interval: timedelta = timedelta(hours=2)


@dataclass(frozen=True)
class Incident:
    """One FMK outage. Times are timezone-aware UTC."""

    status: Status
    summary: str
    details: str
    impact: str
    guidance: str
    down_since: datetime
    opened_at: datetime
    hold: bool
    owner: str | None = None
    acknowledged_at: datetime | None = None
    informed_at: datetime | None = None
    last_notice_at: datetime | None = None
    next_update_at: datetime | None = None
    updates_sent: int = 0
    closed_at: datetime | None = None

    @property
    def municipalities_informed(self) -> bool:
        return self.informed_at is not None


@dataclass(frozen=True)
class Trigger:
    actor: str
    summary: str
    details: str
    guidance: str
    down_since: datetime | None = None
    impact: str = ""
    hold: bool = False


@dataclass(frozen=True)
class Acknowledge:
    actor: str


@dataclass(frozen=True)
class Confirm:
    """Release the held initial notice, optionally with edited text."""

    actor: str
    summary: str | None = None
    details: str | None = None
    impact: str | None = None
    guidance: str | None = None


@dataclass(frozen=True)
class PostUpdate:
    actor: str
    message: str


@dataclass(frozen=True)
class Resolve:
    actor: str
    message: str | None = None
    fmk_up_since: datetime | None = None


@dataclass(frozen=True)
class Cancel:
    actor: str
    reason: str


@dataclass(frozen=True)
class Tick:
    """Time has passed; send whatever is due."""

    actor: str = SYSTEM_ACTOR


Event = Acknowledge | Confirm | PostUpdate | Resolve | Cancel | Tick


@dataclass(frozen=True)
class Notify:
    """Send a notice to the municipalities (each its own message) with the vendors in Cc."""

    kind: NoticeKind
    message: str | None = None


@dataclass(frozen=True)
class Record:
    """A timeline entry."""

    kind: str
    actor: str
    text: str


Effect = Notify | Record


@dataclass(frozen=True)
class Decision:
    incident: Incident
    effects: tuple[Effect, ...] = field(default_factory=tuple)

    @property
    def notices(self) -> tuple[Notify, ...]:
        return tuple(e for e in self.effects if isinstance(e, Notify))


class Rejected(Exception):
    """The event does not apply to the incident in its current state; nothing changes."""
