"""Write one notice's e-mails to the outbox: build each message, then insert all its message
rows in one statement and all its delivery rows in another. The incident notices
(`outbox.enqueue`) and the maintenance notices (`maintenance.notices`) both go through here, so
a message is built, threaded and stored one way. Runs inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert
from sqlmodel import Session, col

from dispatcher.contacts.model import Person
from dispatcher.notices.message import as_bytes, build_message, make_message_id
from dispatcher.notices.render import RenderedNotice
from dispatcher.notices.timefmt import COPENHAGEN
from dispatcher.outbox import wakeup
from dispatcher.store.tables import DeliveryRow, MessageRow


@dataclass(frozen=True)
class Letterhead:
    """What every message of one notice shares."""

    notice_id: int
    thread: str  # the Message-ID's thread part: the incident's or the window's
    sequence: int
    sender: Person
    reply_to: Person
    dated: datetime  # the Date header, and when the deliveries fall due
    headers: Mapping[str, str]


@dataclass(frozen=True)
class Letter:
    """One message: its audience, text, To and Cc, the envelope recipients it is sent to."""

    audience: str
    rendered: RenderedNotice
    to: tuple[Person, ...]
    cc: tuple[Person, ...]
    references: Sequence[str]
    recipients: tuple[str, ...]
    person: str | None = None  # a notice to a person: whom (see DeliveryRow.person)
    calendar: tuple[str, bytes] | None = None


def write(session: Session, head: Letterhead, letters: Sequence[Letter]) -> None:
    """Store `letters` as message rows and their recipients as `pending` delivery rows due at
    `head.dated`; wake the senders when the transaction commits."""
    if not letters:
        return
    domain = head.sender.email.rpartition("@")[2]
    date = head.dated.astimezone(COPENHAGEN)
    messages = []
    for letter in letters:
        rfc_id = make_message_id(head.thread, head.sequence, letter.audience, domain)
        mail = build_message(
            letter.rendered,
            sender=head.sender,
            reply_to=head.reply_to,
            to=letter.to,
            cc=letter.cc,
            message_id=rfc_id,
            references=letter.references,
            date=date,
            headers=head.headers,
            calendar=letter.calendar,
        )
        messages.append(
            {
                "notice_id": head.notice_id,
                "audience": letter.audience,
                "rfc_message_id": rfc_id,
                "envelope_from": head.sender.email,
                "subject": letter.rendered.subject,
                "raw": as_bytes(mail),
            }
        )
    ids = session.scalars(
        insert(MessageRow).returning(col(MessageRow.id), sort_by_parameter_order=True),
        messages,
    ).all()
    deliveries = [
        {
            "message_id": message_id,
            "recipient": recipient,
            "enqueued_at": head.dated,
            "next_attempt_at": head.dated,
            "person": letter.person,
        }
        for message_id, letter in zip(ids, letters, strict=True)
        for recipient in letter.recipients
    ]
    if deliveries:
        session.execute(insert(DeliveryRow), deliveries)
        wakeup.queued(session)
