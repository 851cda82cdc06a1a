"""A validated SDS signal, and what the dispatcher answered to it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from dispatcher.contacts.scope import Scope


class SignalKind(StrEnum):
    OUTAGE = "outage"
    UPDATE = "update"
    RESOLVED = "resolved"
    HEARTBEAT = "heartbeat"
    MAINTENANCE = "maintenance"


class Severity(StrEnum):
    DOWN = "down"
    DEGRADED = "degraded"


@dataclass(frozen=True)
class MaintenanceSignal:
    """A planned window as SDS announces it now; None keeps nothing: each signal is whole."""

    reference: str
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    text: str | None = None
    cancelled: bool = False


@dataclass(frozen=True)
class Signal:
    event_id: str
    kind: SignalKind
    severity: Severity | None = None
    summary: str | None = None
    details: str = ""
    started_at: datetime | None = None
    drill: bool = False  # about the open drill, not the real incident
    scope: Scope | None = None  # an outage (or a window) that concerns only these municipalities
    maintenance: MaintenanceSignal | None = None


@dataclass(frozen=True)
class SignalOutcome:
    """The answer to a signal; a repeat of the same event id gets the same one."""

    status_code: int
    body: dict[str, Any]


class SignalConflict(Exception):
    """The event id was used before for a different body."""
