"""What the report is computed from: the stored records of one incident, as plain values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Entry:
    at: datetime
    actor: str
    kind: str
    text: str


@dataclass(frozen=True)
class Notice:
    sequence: int
    kind: str
    created_at: datetime


@dataclass(frozen=True)
class Delivery:
    notice_sequence: int
    notice_kind: str
    audience: str  # "kommune-101", "vendor-kmd", "person-…"
    recipient: str
    status: str
    attempts: int
    finished_at: datetime | None = None
    last_reply: str | None = None
    dsn: str | None = None  # a bounce's status code and diagnostic


@dataclass(frozen=True)
class Records:
    number: int
    summary: str
    status: str
    drill: bool
    opened_at: datetime
    down_since: datetime
    acknowledged_at: datetime | None
    owner: str | None
    closed_at: datetime | None
    signals: tuple[datetime, ...]  # SDS outage signals, when received
    timeline: tuple[Entry, ...]
    notices: tuple[Notice, ...]
    deliveries: tuple[Delivery, ...]
    # (audience, official name) of the municipalities the incident concerned, in registry order.
    municipalities: tuple[tuple[str, str], ...]
    # (the municipality's official name, when it confirmed), first confirmation first.
    receipts: tuple[tuple[str, datetime], ...]
