"""`dispatcher delivery resend`: queue an incident's failed or bounced deliveries again, to the
addresses the registry holds now (after it was fixed), and say so in the timeline.

Per message: a failed or bounced delivery whose address is still in the registry is queued
again as it is; an address the registry no longer has is left as it was (its history stays)
and the registry's current addresses that the message has not reached get a new delivery.
The message itself is the one rendered then: only the envelope is new. Runs in one
transaction; a closed incident is refused unless forced.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select
from sqlmodel import Session, col

from dispatcher.contacts.model import Municipality, Registry, Vendor
from dispatcher.core.enums import Status
from dispatcher.core.kinds import NoticeKind
from dispatcher.core.model import Rejected
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
class Resent:
    requeued: tuple[str, ...]  # addresses queued again as they were
    added: tuple[str, ...]  # addresses from the registry that the messages had not had
    dropped: tuple[str, ...]  # addresses no longer in the registry, left as they were

    @property
    def queued(self) -> int:
        return len(self.requeued) + len(self.added)

    def describe(self) -> str:
        text = f"resend: {len(self.requeued)} deliveries queued again, {len(self.added)} new"
        if self.added:
            text += f" ({', '.join(sorted(set(self.added)))})"
        if self.dropped:
            text += f"; no longer in the registry: {', '.join(sorted(set(self.dropped)))}"
        return text


def current_addresses(registry: Registry, audience: str, kind: str) -> tuple[str, ...] | None:
    """The registry's addresses now for a municipality or vendor audience (for a reminder, a
    municipality's alternate addresses if it has them); None for a person (whose address is
    the delivery's own)."""
    groups: tuple[Municipality | Vendor, ...] = (*registry.municipalities, *registry.vendors)
    group = next((g for g in groups if g.audience == audience), None)
    if isinstance(group, Municipality) and kind == NoticeKind.REMINDER:
        return group.alternate_emails or group.emails
    return group.emails if group is not None else None


def resend(
    engine: Engine,
    *,
    incident_id: int,
    statuses: tuple[str, ...],
    municipality: int | None,
    registry: Registry,
    actor: str,
    now: datetime,
    force: bool = False,
) -> Resent:
    with transaction(engine) as session:
        incident = session.get(IncidentRow, incident_id, with_for_update=True)
        if incident is None:
            raise Rejected(f"there is no incident #{incident_id}")
        if not Status(incident.status).is_open and not force:
            raise Rejected(
                f"incident #{incident_id} is {incident.status}; give --force to send its "
                "deliveries again all the same"
            )
        if municipality is not None and registry.municipality(municipality) is None:
            raise Rejected(f"there is no municipality {municipality} in the registry")
        resent = _resend(session, incident_id, statuses, municipality, registry, now)
        if not resent.queued:
            raise Rejected(
                f"incident #{incident_id} has no {' or '.join(statuses)} deliveries"
                + (f" to municipality {municipality}" if municipality is not None else "")
                + " to send again"
            )
        session.add(
            TimelineRow(
                incident_id=incident_id, at=now, actor=actor, kind="resend", text=resent.describe()
            )
        )
        return resent


def _resend(
    session: Session,
    incident_id: int,
    statuses: tuple[str, ...],
    municipality: int | None,
    registry: Registry,
    now: datetime,
) -> Resent:
    query = (
        select(DeliveryRow, col(MessageRow.audience), col(NoticeRow.kind))
        .join(MessageRow, col(MessageRow.id) == col(DeliveryRow.message_id))
        .join(NoticeRow, col(NoticeRow.id) == col(MessageRow.notice_id))
        .where(col(NoticeRow.incident_id) == incident_id)
        .order_by(col(DeliveryRow.id))
        .with_for_update()
    )
    if municipality is not None:
        query = query.where(col(MessageRow.audience) == f"kommune-{municipality}")
    by_message: dict[int, list[DeliveryRow]] = defaultdict(list)
    audiences: dict[int, tuple[str, str]] = {}
    for delivery, audience, kind in session.execute(query).all():
        by_message[delivery.message_id].append(delivery)
        audiences[delivery.message_id] = (audience, kind)
    requeued: list[str] = []
    added: list[str] = []
    dropped: list[str] = []
    for message_id, deliveries in by_message.items():
        chosen = [d for d in deliveries if d.status in statuses]
        if not chosen:
            continue
        fresh = current_addresses(registry, *audiences[message_id])
        known = {d.recipient.lower() for d in deliveries}
        for delivery in chosen:
            if fresh is None or delivery.recipient.lower() in {a.lower() for a in fresh}:
                _queue_again(delivery, now)
                requeued.append(delivery.recipient)
            else:
                dropped.append(delivery.recipient)
        for address in fresh or ():
            if address.lower() not in known:
                session.add(
                    DeliveryRow(
                        message_id=message_id,
                        recipient=address,
                        enqueued_at=now,
                        next_attempt_at=now,
                    )
                )
                added.append(address)
    return Resent(tuple(requeued), tuple(added), tuple(dropped))


def _queue_again(delivery: DeliveryRow, now: datetime) -> None:
    delivery.status = DeliveryStatus.PENDING
    delivery.attempts = 0
    delivery.enqueued_at = now
    delivery.next_attempt_at = now
    delivery.finished_at = None
    delivery.claim_token = None
    delivery.claimed_until = None
    delivery.bounced_at = None
    delivery.dsn_status = None
    delivery.dsn_diagnostic = None
