"""The post-incident report's numbers, computed from the stored records alone: a pure function
of `Records` (loaded by `dispatcher.report.load`), so every figure can be checked by hand.

Definitions (the report states them too):
- the clock starts at the first SDS outage signal of the incident; an incident opened from the
  command line starts at its opening;
- "to the first page": until the first page was accepted by the relay;
- a municipality is reached by a notice when at least one of its deliveries of it was accepted
  and has not bounced; its time is the last such delivery's;
- median as usual (the mean of the middle two for an even count); the 95th percentile by
  nearest rank (the ⌈0.95·n⌉-th smallest); worst the largest;
- retries: attempts beyond the first; failed attempts: every attempt the relay did not take
  (temporary trouble and final refusals alike);
- not confirmed: the municipalities the incident concerned that pressed no "Bekræft
  modtagelse" (bounced ones included), once any municipal notice was queued.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from dispatcher.report.records import Delivery, Notice, Records

MUNICIPAL = ("initial", "update", "all_clear", "correction")
ACCEPTED = ("sent", "bounced")


@dataclass(frozen=True)
class Spread:
    """Minutes across municipalities."""

    count: int
    median: float
    p95: float
    worst: float


@dataclass(frozen=True)
class NoticeFigures:
    sequence: int
    kind: str
    created_at: datetime
    reached: int
    of: int
    spread: Spread | None
    not_reached: tuple[str, ...]


@dataclass(frozen=True)
class Unreached:
    notice: int
    name: str
    recipient: str
    status: str
    said: str


@dataclass(frozen=True)
class Figures:
    start: datetime
    started_by_signal: bool
    to_first_page: float | None
    to_acknowledgement: float | None
    notices: tuple[NoticeFigures, ...]
    confirmations: int
    to_confirmation_median: float | None
    bounces: tuple[Unreached, ...]
    refused: tuple[Unreached, ...]
    retries: int
    retried_deliveries: int
    failed_attempts: int
    never_reached: tuple[str, ...]
    # The municipalities told of the incident that have not confirmed, in registry order.
    not_confirmed: tuple[str, ...]


def minutes(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 60


def spread(values: Sequence[float]) -> Spread | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = math.ceil(0.95 * len(ordered))
    return Spread(len(ordered), statistics.median(ordered), ordered[rank - 1], ordered[-1])


def compute(records: Records) -> Figures:
    start = min(records.signals) if records.signals else records.opened_at
    names = dict(records.municipalities)
    pages = [d.finished_at for d in records.deliveries if d.notice_kind == "page" and _took(d)]
    first_page = min((p for p in pages if p is not None), default=None)
    acknowledged = records.acknowledged_at
    confirmed = [minutes(start, at) for _, at in records.receipts]

    def unreached(status: str, said: Callable[[Delivery], str | None]) -> tuple[Unreached, ...]:
        return tuple(
            Unreached(
                d.notice_sequence,
                names.get(d.audience, d.audience),
                d.recipient,
                d.status,
                said(d) or "",
            )
            for d in records.deliveries
            if d.status == status
        )

    return Figures(
        start=start,
        started_by_signal=bool(records.signals),
        to_first_page=minutes(start, first_page) if first_page else None,
        to_acknowledgement=minutes(start, acknowledged) if acknowledged else None,
        notices=tuple(_notice(records, n, start) for n in records.notices if n.kind in MUNICIPAL),
        confirmations=len(records.receipts),
        to_confirmation_median=statistics.median(confirmed) if confirmed else None,
        bounces=unreached("bounced", lambda d: d.dsn),
        refused=unreached("failed", lambda d: d.last_reply),
        retries=sum(max(d.attempts - 1, 0) for d in records.deliveries),
        retried_deliveries=sum(d.attempts > 1 for d in records.deliveries),
        failed_attempts=sum(d.attempts - (d.status in ACCEPTED) for d in records.deliveries),
        never_reached=_never_reached(records),
        not_confirmed=_not_confirmed(records),
    )


def _took(d: Delivery) -> bool:
    """Accepted by the relay and not bounced since."""
    return d.status == "sent" and d.finished_at is not None


def _notice(records: Records, notice: Notice, start: datetime) -> NoticeFigures:
    """When each municipality had `notice` (its last accepted delivery of it), in minutes."""
    concerned = dict(records.municipalities)
    last: dict[str, datetime] = {}
    for d in records.deliveries:
        if d.notice_sequence == notice.sequence and _took(d) and d.audience in concerned:
            assert d.finished_at is not None
            last[d.audience] = max(last.get(d.audience, d.finished_at), d.finished_at)
    return NoticeFigures(
        sequence=notice.sequence,
        kind=notice.kind,
        created_at=notice.created_at,
        reached=len(last),
        of=len(concerned),
        spread=spread([minutes(start, at) for at in last.values()]),
        not_reached=tuple(
            name for audience, name in records.municipalities if audience not in last
        ),
    )


def _told(records: Records) -> bool:
    """Whether any municipal notice of the incident was queued."""
    return any(d.notice_kind in MUNICIPAL for d in records.deliveries)


def _not_confirmed(records: Records) -> tuple[str, ...]:
    if not _told(records):
        return ()
    confirmed = {name for name, _ in records.receipts}
    return tuple(name for _, name in records.municipalities if name not in confirmed)


def _never_reached(records: Records) -> tuple[str, ...]:
    """The municipalities that no municipal notice reached."""
    reached: defaultdict[str, bool] = defaultdict(bool)
    for d in records.deliveries:
        if d.notice_kind in MUNICIPAL:
            reached[d.audience] |= _took(d)
    if not _told(records):
        return ()
    return tuple(name for audience, name in records.municipalities if not reached[audience])
