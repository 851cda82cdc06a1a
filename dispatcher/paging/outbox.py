"""Pages and "taken by" notices by SMS, into the outbox beside their mail: one message row with
the SMS text and one delivery row (channel `sms`, the E.164 number as recipient) per person who
is paged by SMS. A page gets a fresh reply code and a short acknowledgement link. Runs inside
the caller's transaction, like the mail."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import TYPE_CHECKING

from sqlmodel import Session

from dispatcher.contacts.model import Channel, Person, Registry
from dispatcher.core.enums import Info
from dispatcher.core.kinds import NoticeKind
from dispatcher.core.model import Incident, Notify
from dispatcher.paging import sms_text
from dispatcher.store.tables import DeliveryRow, MessageRow, NoticeRow, PageCodeRow

if TYPE_CHECKING:
    from dispatcher.outbox.enqueue import Addressee

SMS_KINDS = frozenset({NoticeKind.PAGE, NoticeKind.OWNER})
# Information that must reach its people by every channel: word that the mail relay fails,
# and the list of municipalities to ring (issue #12): by SMS as well.
SMS_INFOS = frozenset({Info.RELAY_FAILING, Info.CALL_LIST})
CODE_DIGITS = 6
LINK_KEY_BYTES = 8  # 11 characters of URL-safe base64, 64 random bits
SHORT_PATH = "/p/"


def wanted(notify: Notify, person: Person) -> bool:
    by_sms = notify.kind in SMS_KINDS or notify.info in SMS_INFOS
    return by_sms and person.pages_by(Channel.SMS)


def new_code() -> str:
    """A reply code: random digits, not derived from anything, so earlier codes tell nothing."""
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def short_link(ack_link: str, key: str) -> str:
    """The short link beside `ack_link` (same base URL): `{public_url}/p/{key}`."""
    base = ack_link.rpartition("/ack/")[0]
    return f"{base}{SHORT_PATH}{key}"


def queue_sms(
    session: Session,
    notice: NoticeRow,
    to: Addressee,
    incident: Incident | None,
    ack_link: str | None,
    now: datetime,
    registry: Registry,
    *,
    info: Info | None,
    codes: tuple[int, ...],
) -> None:
    """The SMS of `notice` to the person `to`, who pages by SMS (see `wanted`); `info` and
    `codes` as the notice's `Notify` has them."""
    person, audience, number = to.recipient, to.audience, notice.incident_id
    assert isinstance(person, Person)
    assert person.phone is not None
    assert notice.id is not None
    assert number is not None
    assert incident is not None
    if notice.kind == NoticeKind.PAGE:
        code, key = new_code(), secrets.token_urlsafe(LINK_KEY_BYTES)
        session.add(
            PageCodeRow(
                incident_id=number,
                notice_id=notice.id,
                person=person.email,
                phone=person.phone,
                code=code,
                link_key=key,
                ack_url=ack_link or "",
                created_at=now,
            )
        )
        sms = sms_text.page(
            number=number,
            summary=incident.summary,
            down_since=incident.down_since,
            now=now,
            code=code,
            link=short_link(ack_link, key) if ack_link else "",
            round_number=incident.page_round,
            drill=incident.drill,
        )
    elif info is Info.CALL_LIST:
        sms = sms_text.call_list(number=number, names=_names(registry, codes))
    elif notice.kind == NoticeKind.ONCALL_INFO:
        sms = sms_text.fit(f"FMK-nedbrud #{number}: ", notice.message or "", "")
    else:
        owner = incident.owner or ""
        sms = sms_text.owner(
            number=number,
            owner_name=_name(registry, owner),
            at=incident.acknowledged_at or now,
            yourself=owner.lower() == person.email.lower(),
            drill=incident.drill,
        )
    message = MessageRow(
        notice_id=notice.id,
        audience="sms-" + audience.removeprefix("person-"),
        rfc_message_id=f"sms-{notice.id}-{audience}",
        envelope_from=Channel.SMS,
        subject=sms.text[:400],
        raw=sms.text.encode("utf-8"),
    )
    session.add(message)
    session.flush()
    assert message.id is not None
    session.add(
        DeliveryRow(
            message_id=message.id,
            recipient=person.phone,
            channel=Channel.SMS,
            person=person.email,
            enqueued_at=now,
            next_attempt_at=now,
        )
    )


def _names(registry: Registry, codes: tuple[int, ...]) -> list[str]:
    found = (registry.municipality(code) for code in codes)
    return [m.name for m in found if m is not None]


def _name(registry: Registry, email: str) -> str:
    esc = registry.escalation
    people = (*esc.staff, *esc.fallback, *esc.drill)
    return next((p.name for p in people if p.email.lower() == email.lower()), email)
