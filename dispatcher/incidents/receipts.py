"""Read each municipality's deliveries and confirmation for one incident, for the core's
follow-up decisions, `incident receipts`, `incident show` and the metrics."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, select
from sqlmodel import Session, col

from dispatcher.contacts.model import Municipality, Registry
from dispatcher.contacts.phones import display
from dispatcher.core.receipts import Reach, Receipt, RelayTrouble, Seen, to_call
from dispatcher.notices.render import addressee
from dispatcher.outbox.relay import RELAY
from dispatcher.store.db import read_only
from dispatcher.store.tables import (
    DeliveryRow,
    DeliveryStatus,
    MessageRow,
    NoticeRow,
    ReceiptRow,
    RelayRow,
)

MUNICIPAL_AUDIENCE = "kommune-"
WAITING = (DeliveryStatus.PENDING.value, DeliveryStatus.SENDING.value)
REJECTED = (DeliveryStatus.FAILED.value, DeliveryStatus.BOUNCED.value)
DANISH = {
    Reach.BOUNCED: "mailen kom retur",
    Reach.FAILED: "afvist af mailserveren",
    Reach.WAITING: "venter på afsendelse",
    Reach.DELIVERED: "leveret, ikke bekræftet",
    Reach.CONFIRMED: "bekræftet",
}


def _code(audience: str) -> int:
    return int(audience.removeprefix(MUNICIPAL_AUDIENCE))


def _of_incident(incident_id: int) -> tuple[object, ...]:
    return (
        col(NoticeRow.incident_id) == incident_id,
        col(MessageRow.audience).startswith(MUNICIPAL_AUDIENCE),
    )


def receipts(session: Session, incident_id: int) -> tuple[Receipt, ...]:
    """One `Receipt` per municipality that any notice of the incident was addressed to."""
    counts: dict[int, Counter[str]] = defaultdict(Counter)
    for audience, status, count in session.execute(
        select(col(MessageRow.audience), col(DeliveryRow.status), func.count())
        .join(MessageRow, col(MessageRow.id) == col(DeliveryRow.message_id))
        .join(NoticeRow, col(NoticeRow.id) == col(MessageRow.notice_id))
        .where(*_of_incident(incident_id))  # type: ignore[arg-type]
        .group_by(col(MessageRow.audience), col(DeliveryRow.status))
    ):
        counts[_code(audience)][status] += count
    confirmed = dict(
        session.execute(
            select(col(ReceiptRow.municipality_code), col(ReceiptRow.confirmed_at)).where(
                col(ReceiptRow.incident_id) == incident_id
            )
        ).all()
    )
    return tuple(
        Receipt(
            code=code,
            delivered=c[DeliveryStatus.SENT.value],
            bounced=c[DeliveryStatus.BOUNCED.value],
            failed=c[DeliveryStatus.FAILED.value],
            waiting=sum(c[s] for s in WAITING),
            confirmed_at=confirmed.get(code),
        )
        for code, c in sorted(counts.items())
    )


def relay_trouble(session: Session, incident_id: int) -> RelayTrouble | None:
    """The relay's failure, if it fails, and how many of the incident's deliveries wait
    after a failed attempt."""
    relay = session.get(RelayRow, RELAY)
    if relay is None or relay.failing_since is None:
        return None
    waiting = session.scalar(
        select(func.count())
        .select_from(DeliveryRow)
        .join(MessageRow, col(MessageRow.id) == col(DeliveryRow.message_id))
        .join(NoticeRow, col(NoticeRow.id) == col(MessageRow.notice_id))
        .where(
            col(NoticeRow.incident_id) == incident_id,
            col(DeliveryRow.status).in_(WAITING),
            col(DeliveryRow.attempts) > 0,
        )
    )
    return RelayTrouble(relay.failing_since, relay.last_error or "", waiting or 0)


def observe(session: Session, incident_id: int) -> Seen:
    """What a tick of the incident needs to know besides the incident."""
    return Seen(receipts(session, incident_id), relay_trouble(session, incident_id))


@dataclass(frozen=True)
class ReceiptLine:
    """One municipality in `incident receipts`: whom to call, why, and on which number."""

    receipt: Receipt
    name: str
    phone: str | None
    reply: str

    @property
    def reach(self) -> Reach:
        return self.receipt.reach

    @property
    def confirmed_at(self) -> datetime | None:
        return self.receipt.confirmed_at

    def danish(self) -> str:
        """E.g. "Faxe Kommune (320): tlf. +45 56 20 30 00 – mailen kom retur"."""
        phone = f"tlf. {self.phone}" if self.phone else "intet telefonnummer i registret"
        return f"{self.name} ({self.receipt.code}): {phone} – {DANISH[self.reach]}"


def lines(session: Session, incident_id: int, registry: Registry) -> list[ReceiptLine]:
    """Every municipality of the incident in calling order, with name, phone and the last
    reply of a rejected delivery."""
    replies: dict[str, str | None] = dict(
        session.execute(
            select(col(MessageRow.audience), col(DeliveryRow.last_reply))
            .join(MessageRow, col(MessageRow.id) == col(DeliveryRow.message_id))
            .join(NoticeRow, col(NoticeRow.id) == col(MessageRow.notice_id))
            .where(*_of_incident(incident_id), col(DeliveryRow.status).in_(REJECTED))  # type: ignore[arg-type]
            .order_by(col(DeliveryRow.id))
        ).all()
    )
    return [
        _line(r, registry.municipality(r.code), replies.get(f"{MUNICIPAL_AUDIENCE}{r.code}"))
        for r in to_call(receipts(session, incident_id))
    ]


def _line(receipt: Receipt, municipality: Municipality | None, reply: str | None) -> ReceiptLine:
    name = addressee(municipality) if municipality else f"kommune {receipt.code}"
    phone = display(municipality.phone) if municipality and municipality.phone else None
    return ReceiptLine(receipt, name, phone, reply or "")


def receipt_lines(engine: Engine, incident_id: int, registry: Registry) -> list[ReceiptLine]:
    with read_only(engine) as session:
        return lines(session, incident_id, registry)


def call_list_text(
    session: Session, incident_id: int, registry: Registry, codes: tuple[int, ...]
) -> str:
    """The body of the "ring til disse kommuner" notice to the owner."""
    wanted = set(codes)
    listed = [line for line in lines(session, incident_id, registry) if line.receipt.code in wanted]
    rows = "\n".join(f"- {line.danish()}" for line in listed)
    return (
        f"Ring til disse {len(listed)} kommuner:\n\n{rows}\n\n"
        f"Den aktuelle liste: dispatcher incident receipts {incident_id}"
    )
