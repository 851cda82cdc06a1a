"""Turn a `Notify` effect into outbox rows: one rendered message per municipality, one copy per
EOJ vendor, one delivery row per envelope recipient. Runs inside the caller's transaction, so a
notice is enqueued exactly when the state change that caused it is committed."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlmodel import Session, col

from dispatcher.contacts.model import Municipality, Person, Registry, Vendor
from dispatcher.core.model import Incident, Notify
from dispatcher.notices.context import IncidentFacts, NoticeContext
from dispatcher.notices.message import as_bytes, build_message, make_message_id
from dispatcher.notices.render import NoticeRenderer, addressee
from dispatcher.notices.timefmt import COPENHAGEN
from dispatcher.store.tables import DeliveryRow, IncidentRow, MessageRow, NoticeRow


@dataclass(frozen=True)
class Audiences:
    """Who a notice goes to: each municipality its own message, each vendor one copy."""

    municipalities: tuple[Municipality, ...]
    vendors: tuple[Vendor, ...]


def all_of(registry: Registry) -> Audiences:
    return Audiences(registry.municipalities, registry.vendors)


def notice_context(
    *,
    number: int,
    incident: Incident,
    notify: Notify,
    sequence: int,
    now: datetime,
    recipient: Municipality | Vendor,
    registry: Registry,
) -> NoticeContext:
    """What notice number `sequence` of incident `number` tells `recipient`, issued `now`;
    the next update is announced for `incident.next_update_at`."""
    facts = IncidentFacts(
        number=number,
        summary=incident.summary,
        details=incident.details,
        impact=incident.impact,
        guidance=incident.guidance,
        down_since=incident.down_since,
        resolved_at=incident.closed_at,
    )
    return NoticeContext(
        kind=notify.kind,
        incident=facts,
        sequence=sequence,
        issued_at=now,
        next_update_at=incident.next_update_at,
        message=notify.message,
        recipient=recipient,
        municipality_count=len(registry.municipalities),
        contacts=registry.escalation,
    )


def enqueue_notice(
    session: Session,
    *,
    row: IncidentRow,
    incident: Incident,
    notify: Notify,
    actor: str,
    now: datetime,
    registry: Registry,
    renderer: NoticeRenderer,
) -> NoticeRow:
    incident_id = _id(row.id)
    sequence = (
        session.scalar(
            select(func.max(col(NoticeRow.sequence))).where(
                col(NoticeRow.incident_id) == incident_id
            )
        )
        or 0
    ) + 1
    notice = NoticeRow(
        incident_id=incident_id,
        sequence=sequence,
        kind=notify.kind,
        created_at=now,
        created_by=actor,
        message=notify.message,
    )
    session.add(notice)
    session.flush()
    earlier = _thread_ids(session, incident_id)
    audiences = all_of(registry)
    vendor_cc = [Person(v.name, e) for v in audiences.vendors for e in v.emails]
    esc = registry.escalation
    domain = esc.sender.email.rpartition("@")[2]
    # Short enough that the Message-ID header is never folded; the uid part keeps it unique
    # when incident numbers start again in a new database.
    thread_token = f"{incident_id}-{row.uid[:8]}"
    recipients: list[tuple[Municipality | Vendor, list[Person]]] = [
        (m, vendor_cc) for m in audiences.municipalities
    ]
    recipients += [(v, []) for v in audiences.vendors]
    for recipient, cc in recipients:
        context = notice_context(
            number=incident_id,
            incident=incident,
            notify=notify,
            sequence=sequence,
            now=now,
            recipient=recipient,
            registry=registry,
        )
        rendered = renderer.render(context)
        references = earlier[recipient.audience]
        rfc_id = make_message_id(thread_token, sequence, recipient.audience, domain)
        mail = build_message(
            rendered,
            sender=esc.sender,
            reply_to=esc.reply_to,
            to=[Person(addressee(recipient), e) for e in recipient.emails],
            cc=cc,
            message_id=rfc_id,
            references=references,
            date=now.astimezone(COPENHAGEN),
            headers={"X-FMK-Incident": str(incident_id), "X-FMK-Notice": str(notify.kind)},
        )
        message = MessageRow(
            notice_id=_id(notice.id),
            audience=recipient.audience,
            rfc_message_id=rfc_id,
            envelope_from=esc.sender.email,
            subject=rendered.subject,
            raw=as_bytes(mail),
        )
        session.add(message)
        session.flush()
        for email in recipient.emails:
            session.add(
                DeliveryRow(
                    message_id=_id(message.id),
                    recipient=email,
                    enqueued_at=now,
                    next_attempt_at=now,
                )
            )
    return notice


def _thread_ids(session: Session, incident_id: int) -> dict[str, list[str]]:
    """Message-IDs already sent to each audience of this incident, oldest first."""
    rows = session.execute(
        select(col(MessageRow.audience), col(MessageRow.rfc_message_id))
        .join(NoticeRow, col(NoticeRow.id) == col(MessageRow.notice_id))
        .where(col(NoticeRow.incident_id) == incident_id)
        .order_by(col(NoticeRow.sequence))
    ).all()
    threads: dict[str, list[str]] = defaultdict(list)
    for audience, rfc_id in rows:
        threads[audience].append(rfc_id)
    return threads


def _id(value: int | None) -> int:
    assert value is not None, "row has no id; flush first"
    return value
