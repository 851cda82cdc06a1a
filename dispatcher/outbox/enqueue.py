"""Turn a `Notify` effect into outbox rows: one rendered message per addressee (a municipality,
a vendor, a person), one delivery row per envelope recipient. Runs inside the caller's
transaction, so a notice is enqueued exactly when the state change that caused it commits."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlmodel import Session

from dispatcher.contacts.model import Channel, Municipality, Person, Registry, Vendor
from dispatcher.contacts.scope import affected, vendors_for
from dispatcher.core.enums import Audience
from dispatcher.core.kinds import NoticeKind
from dispatcher.core.model import Incident, Notify
from dispatcher.notices.context import NoticeContext
from dispatcher.notices.info import describe
from dispatcher.notices.render import NoticeRenderer, addressee
from dispatcher.oncall.duty import on_duty
from dispatcher.outbox import mail
from dispatcher.outbox.facts import facts
from dispatcher.outbox.receipts import receipt_link, reminded
from dispatcher.outbox.sequence import municipal_count, next_sequence, thread_ids
from dispatcher.paging import outbox as paging
from dispatcher.store.tables import IncidentRow, NoticeRow

HEARTBEAT_THREAD = "sds-heartbeat"


@dataclass(frozen=True)
class Addressee:
    """One message: who it is for, who is in To and Cc, and its thread key."""

    recipient: Municipality | Vendor | Person
    to: tuple[Person, ...]
    cc: tuple[Person, ...] = ()

    @property
    def audience(self) -> str:
        if isinstance(self.recipient, Person):
            return "person-" + re.sub(r"[^a-z0-9.-]", "-", self.recipient.email.lower())[:50]
        return self.recipient.audience


@dataclass(frozen=True)
class Enqueued:
    notice: NoticeRow
    to: tuple[Addressee, ...]

    def describe(self) -> str:
        """For the timeline: what was queued for whom."""
        return f"{self.notice.kind} notice #{self.notice.sequence} queued for {recipients(self.to)}"


def recipients(to: Sequence[Addressee]) -> str:
    """Who the messages are for, in short: "98 municipalities, 3 vendor copies" or names."""
    groups = [a.recipient for a in to]
    if any(isinstance(g, Municipality) for g in groups):
        m, v = (sum(isinstance(g, kind) for g in groups) for kind in (Municipality, Vendor))
        ending = "y" if m == 1 else "ies"
        return f"{m} municipalit{ending}, {v} vendor cop{'y' if v == 1 else 'ies'}"
    return ", ".join(addressee(g) for g in groups) or "nobody"


def addressees(
    notify: Notify, registry: Registry, incident: Incident | None = None
) -> list[Addressee]:
    """Who gets `notify`: the affected municipalities (each its own message, the vendors
    concerned in Cc) and one copy per vendor concerned, or the people of the audience (the
    on-call staff of `registry`: `oncall.duty.on_duty` makes them who is on call). A drill
    goes to the drill staff alone unless it was opened to reach the municipalities too."""
    if incident is not None and incident.drill and not incident.drill_municipalities:
        return _persons(registry.escalation.drill_staff, notify)
    if notify.kind is NoticeKind.REMINDER:
        return [Addressee(m, to) for m, to in reminded(registry, notify.municipalities)]
    codes = incident.scope if incident is not None else ()
    concerned = vendors_for(registry, codes)
    vendors = [Addressee(v, group_people(v)) for v in concerned]
    match notify.audience:
        case Audience.MUNICIPALITIES:
            cc = tuple(p for v in concerned for p in group_people(v))
            return [Addressee(m, group_people(m), cc) for m in affected(registry, codes)] + vendors
        case Audience.VENDORS:
            return vendors
        case Audience.ONCALL:
            people = registry.escalation.oncall
        case Audience.ESCALATION:
            people = (*registry.escalation.oncall, *registry.escalation.fallback)
        case Audience.OWNER:
            owner = incident.owner if incident is not None else None
            people = (registry.escalation.person(owner),) if owner else registry.escalation.oncall
    return _persons(people, notify)


def _persons(people: tuple[Person, ...], notify: Notify) -> list[Addressee]:
    excluded = (notify.exclude or "").lower()
    unique = {p.email.lower(): p for p in people if p.email.lower() != excluded}
    if notify.only is not None:
        unique = {k: p for k, p in unique.items() if k == notify.only.lower()}
    return [Addressee(p, (p,)) for p in unique.values()]


def group_people(group: Municipality | Vendor) -> tuple[Person, ...]:
    return tuple(Person(addressee(group), e) for e in group.emails)


def notice_context(
    *,
    number: int | None,
    incident: Incident | None,
    notify: Notify,
    sequence: int,
    now: datetime,
    recipient: Municipality | Vendor | Person,
    registry: Registry,
    ack_url: str | None = None,
    receipt_url: str | None = None,
) -> NoticeContext:
    """What notice number `sequence` of incident `number` tells `recipient`, issued `now`."""
    title, message = describe(notify.info, number, notify.message)
    return NoticeContext(
        kind=notify.kind,
        incident=facts(number, incident, registry)
        if incident is not None and number is not None
        else None,
        sequence=sequence,
        issued_at=now,
        next_update_at=incident.next_update_at if incident else None,
        message=message,
        recipient=recipient,
        municipality_count=len(affected(registry, incident.scope if incident else ())),
        contacts=registry.escalation,
        title=title,
        ack_url=ack_url,
        page_round=incident.page_round if incident else 0,
        receipt_url=receipt_url,
    )


def enqueue_notice(
    session: Session,
    *,
    row: IncidentRow | None,
    incident: Incident | None,
    notify: Notify,
    actor: str,
    now: datetime,
    registry: Registry,
    renderer: NoticeRenderer,
    ack_url: Callable[[str], str] | None = None,
    receipt_url: Callable[[int], str] | None = None,
) -> Enqueued:
    """Queue the notice; `row`/`incident` are None for notices about no incident (heartbeat).
    `ack_url(person_email)` gives the acknowledgement link that goes into each page,
    `receipt_url(code)` the "Bekræft modtagelse" link of each municipality's notice. The
    on-call staff it goes to (and names) are those on call `now`, by the rota and overrides."""
    registry = on_duty(session, registry, now)
    incident_id = row.id if row is not None else None
    notice = NoticeRow(
        incident_id=incident_id,
        sequence=next_sequence(session, incident_id),
        kind=notify.kind,
        created_at=now,
        created_by=actor,
        message=notify.message,
    )
    session.add(notice)
    session.flush()
    earlier = thread_ids(session, incident_id)
    # Municipal notices are numbered among themselves ("Opdatering 2"), pages aside.
    shown = municipal_count(session, incident_id) if notify.kind.municipal else notice.sequence
    esc = registry.escalation
    # Short enough that the Message-ID header is never folded; the uid part keeps it unique
    # when incident numbers start again in a new database.
    thread = f"{incident_id}-{row.uid[:8]}" if row is not None else HEARTBEAT_THREAD
    headers = {"X-FMK-Notice": str(notify.kind)}
    if incident_id is not None:
        headers["X-FMK-Incident"] = str(incident_id)
    queued = addressees(notify, registry, incident)
    # What every message of the notice says alike, worked out once for all of them.
    common = notice_context(
        number=incident_id,
        incident=incident,
        notify=notify,
        sequence=shown,
        now=now,
        recipient=esc.sender,
        registry=registry,
    )
    letters = []
    for to in queued:
        link = None
        if notify.kind is NoticeKind.PAGE and ack_url is not None:
            assert isinstance(to.recipient, Person)
            link = ack_url(to.recipient.email)
        if isinstance(to.recipient, Person) and paging.wanted(notify, to.recipient):
            paging.queue_sms(
                session,
                notice,
                to,
                incident,
                link,
                now,
                registry,
                info=notify.info,
                codes=notify.municipalities,
            )
        if notify.sms_only:
            continue
        context = replace(
            common,
            recipient=to.recipient,
            ack_url=link,
            receipt_url=receipt_link(receipt_url, notify, to.recipient),
        )
        paged = to.recipient if isinstance(to.recipient, Person) else None
        letters.append(
            mail.Letter(
                audience=to.audience,
                rendered=renderer.render(context),
                to=to.to,
                cc=to.cc,
                references=earlier[to.audience],
                recipients=tuple(
                    p.email for p in to.to if paged is None or paged.pages_by(Channel.EMAIL)
                ),
                person=paged.email if paged is not None else None,
            )
        )
    head = mail.Letterhead(
        notice_id=_id(notice.id),
        thread=thread,
        sequence=notice.sequence,
        sender=esc.sender,
        reply_to=esc.reply_to,
        dated=now,
        headers=headers,
    )
    mail.write(session, head, letters)
    return Enqueued(notice, tuple(queued))


def _id(value: int | None) -> int:
    assert value is not None, "row has no id; flush first"
    return value
