"""Record what a bounce says: find the deliveries it is about, mark those that failed for good
`bounced` (with the status code and the diagnostic), note the delayed ones in the timeline, and
let the core tell a live incident's owner — all in one transaction.

A bounce names its delivery by the VERP return path it was sent to; failing that (no VERP, a
server that bounced to the From address, a changed link secret) by the original Message-ID and
the failed recipient. Only a delivery the relay took (`sent`) becomes `bounced`; the same bounce
read twice changes nothing the second time.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from sqlalchemy import select, update
from sqlmodel import Session, col

from dispatcher.bounces import verp
from dispatcher.bounces.dsn import Failure, Report
from dispatcher.contacts.model import Municipality, Registry, Vendor
from dispatcher.core.bounces import Bounce, on_bounces
from dispatcher.core.kinds import NoticeKind
from dispatcher.incidents.service import Dispatch, react_in
from dispatcher.notices.render import addressee
from dispatcher.outbox.enqueue import Addressee
from dispatcher.store.db import transaction
from dispatcher.store.tables import (
    DeliveryRow,
    DeliveryStatus,
    IncidentRow,
    MessageRow,
    NoticeRow,
    TimelineRow,
)


@dataclass(frozen=True)
class Target:
    """A delivery a bounce is about, with what the timeline and the owner need."""

    delivery_id: int
    message_id: int
    recipient: str
    status: str
    audience: str
    incident_id: int | None
    notice: NoticeKind
    sequence: int


@dataclass(frozen=True)
class Outcome:
    """What reading one bounce did: one line per failure it named, and whether any of them
    matched a delivery (a bounce that matches none goes to the ignored folder)."""

    matched: bool
    lines: tuple[str, ...]


@dataclass(frozen=True)
class Verp:
    """How to read a return path: `DISPATCHER_BOUNCE_ADDRESS` and the secret of its MACs."""

    address: str | None
    secret: str


def record(d: Dispatch, report: Report, return_paths: Verp, now: datetime) -> Outcome:
    with transaction(d.engine) as session:
        pairs = _pairs(session, report, return_paths)
        if not pairs:
            return Outcome(False, ("matches no delivery",))
        incidents = sorted({t.incident_id for t, _ in pairs if t.incident_id is not None})
        for incident_id in incidents:  # in one order, before any delivery: no deadlock
            session.scalar(
                select(col(IncidentRow.id))
                .where(col(IncidentRow.id) == incident_id)
                .with_for_update()
            )
        names = _names(d.registry)
        news: dict[int, list[Bounce]] = defaultdict(list)
        lines = []
        for target, failure in pairs:
            bounce = Bounce(
                addressee=names.get(target.audience, target.audience),
                recipient=target.recipient,
                notice=target.notice,
                sequence=target.sequence,
                permanent=failure.permanent,
                status=failure.status,
                diagnostic=failure.diagnostic,
            )
            new, line = _apply(session, target, bounce, now)
            lines.append(line)
            if new and target.incident_id is not None:
                news[target.incident_id].append(bounce)
        for incident_id, bounces in news.items():
            react_in(session, d, incident_id, partial(on_bounces, bounces=tuple(bounces)), now)
        return Outcome(True, tuple(lines))


def _apply(session: Session, target: Target, bounce: Bounce, now: datetime) -> tuple[bool, str]:
    """Whether `bounce` is news for `target`, and one line saying what happened."""
    if not bounce.permanent:
        seen = session.scalar(
            select(col(TimelineRow.id)).where(
                col(TimelineRow.incident_id) == target.incident_id,
                col(TimelineRow.kind) == "bounce_delayed",
                col(TimelineRow.text) == bounce.describe(),
            )
        )
        return seen is None, f"delayed (recorded, not final): {bounce.describe()}"
    changed = session.execute(
        update(DeliveryRow)
        .where(
            col(DeliveryRow.id) == target.delivery_id,
            col(DeliveryRow.status) == DeliveryStatus.SENT,
        )
        .values(
            status=DeliveryStatus.BOUNCED,
            bounced_at=now,
            dsn_status=bounce.status[:20],
            dsn_diagnostic=bounce.diagnostic,
        )
    ).rowcount  # type: ignore[attr-defined]
    if changed:
        return True, f"bounced: {bounce.describe()}"
    return False, f"delivery {target.delivery_id} is {target.status}, left as it is"


def _pairs(session: Session, report: Report, paths: Verp) -> list[tuple[Target, Failure]]:
    """Each failure of `report` with the delivery it is about, where one is found."""
    if paths.address is not None:
        for address in report.sent_to:
            delivery_id = verp.delivery_of(address, paths.address, paths.secret)
            if delivery_id is None:
                continue
            targets = _targets(session, col(DeliveryRow.id) == delivery_id)
            if targets:
                return [(targets[0], _failure_for(targets[0], report.failures))]
    if not report.message_ids:
        return []
    targets = _targets(session, col(MessageRow.rfc_message_id).in_(report.message_ids))
    pairs = []
    for failure in report.failures:
        same = [t for t in targets if t.recipient.lower() == failure.recipient]
        if not same and len(targets) == 1 and len(report.failures) == 1:
            same = targets  # one recipient only: forwarded on, under another address
        pairs += [(t, failure) for t in same[:1]]
    return pairs


def _failure_for(target: Target, failures: tuple[Failure, ...]) -> Failure:
    """The failure about `target`'s recipient; else the permanent one, else the first."""
    for failure in failures:
        if failure.recipient == target.recipient.lower():
            return failure
    return next((f for f in failures if f.permanent), failures[0])


def _targets(session: Session, where: object) -> list[Target]:
    rows = session.execute(
        select(
            DeliveryRow,
            col(MessageRow.audience),
            col(NoticeRow.incident_id),
            col(NoticeRow.kind),
            col(NoticeRow.sequence),
        )
        .join(MessageRow, col(MessageRow.id) == col(DeliveryRow.message_id))
        .join(NoticeRow, col(NoticeRow.id) == col(MessageRow.notice_id))
        .where(where)  # type: ignore[arg-type]
        .order_by(col(DeliveryRow.id))
    ).all()
    return [
        Target(
            delivery_id=_id(delivery.id),
            message_id=delivery.message_id,
            recipient=delivery.recipient,
            status=delivery.status,
            audience=audience,
            incident_id=incident_id,
            notice=NoticeKind(kind),
            sequence=sequence,
        )
        for delivery, audience, incident_id, kind, sequence in rows
    ]


def _names(registry: Registry) -> dict[str, str]:
    """Audience → who it is: "Aabenraa Kommune", a vendor's or a person's name."""
    esc = registry.escalation
    people = {Addressee(p, (p,)).audience: p.name for p in (*esc.oncall, *esc.fallback, *esc.drill)}
    groups: tuple[Municipality | Vendor, ...] = (*registry.municipalities, *registry.vendors)
    return people | {g.audience: addressee(g) for g in groups}


def _id(value: int | None) -> int:
    assert value is not None
    return value
